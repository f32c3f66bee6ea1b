"""Every callback, action and block id the bot puts in Slack, in one place."""

from __future__ import annotations

from enum import StrEnum

from bot.domain.slash import COMMAND as COMMAND  # declared with its subcommands


class CallbackId(StrEnum):
    WIZARD = "private_endpoint_wizard"
    MESSAGE = "private_endpoint_message"  # a modal that only says something
    TERMINATE = "private_endpoint_terminate"


class BlockId(StrEnum):
    CLUSTER = "cluster"
    REGION = "region"
    ACCOUNT_ID = "account_id"
    VPC_ID = "vpc"
    SUBNET_IDS = "subnets"
    SECURITY_GROUP_IDS = "security_groups"
    VPCE_ID = "vpce"
    INSTRUCTIONS = "instructions"
    TOOLS = "tools"  # the choice of AWS CLI, Terraform or CloudFormation
    ENDPOINT_ACTIONS = "endpoint_actions"
    FAILED_ACTIONS = "failed_actions"
    CONNECT = "connect"
    TERMINATE_CONFIRM = "terminate_confirm"


class ActionId(StrEnum):
    VALUE = "value"  # the one element of every input block
    TOGGLE_INSTRUCTIONS = "toggle_instructions"
    SHOW_CLI = "show_cli"  # the three buttons of the tool choice (ids are unique per block)
    SHOW_TERRAFORM = "show_terraform"
    SHOW_CLOUDFORMATION = "show_cloudformation"
    EDIT = "edit"
    TERMINATE = "terminate"
    TERMINATE_CONFIRMED = "terminate_confirmed"
    RETRY = "retry"
    CONNECT_CLIENT = "connect_client"
    ACCEPT_CONNECTION = "accept_connection"
    REJECT_CONNECTION = "reject_connection"
    VERIFY_DNS = "verify_dns"
