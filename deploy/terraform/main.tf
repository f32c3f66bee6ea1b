# The AWS identity of privatelink-bot: an IAM role that the bot's pods (IRSA on EKS) or its ECS
# tasks assume, with exactly the permissions docs/operating.md lists ("2. Give it AWS access");
# tests/test_deploy.py checks that the two say the same.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  # oidc.eks.<region>.amazonaws.com/id/<id>: the issuer, as IAM's condition keys name it.
  oidc_issuer = var.oidc_provider_arn == null ? "" : element(split("oidc-provider/", var.oidc_provider_arn), 1)
}

# EKS: the pods of one service account, through the cluster's OIDC provider (IRSA).
data "aws_iam_policy_document" "assume_eks" {
  count = var.runtime == "eks" ? 1 : 0

  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [var.oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_issuer}:sub"
      values   = ["system:serviceaccount:${var.namespace}:${var.service_account}"]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

# ECS: tasks of this account only (no other account's task can borrow the role).
data "aws_iam_policy_document" "assume_ecs" {
  count = var.runtime == "ecs" ? 1 : 0

  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${data.aws_partition.current.partition}:ecs:*:${data.aws_caller_identity.current.account_id}:*"]
    }
  }
}

# What the bot calls: docs/operating.md's policy, statement by statement.
data "aws_iam_policy_document" "bot" {
  # The policy is docs/operating.md's, unchanged. Its first statement has Resource "*": the two
  # Describe actions take no resource ARN, and the endpoint services the others act on are made at
  # run time (their ids are not known here); the bot touches only services tagged
  # privatelink-bot:cluster. Scoping the write actions by ARN and tag is an AWS-side change to
  # prove against a real account first.
  #checkov:skip=CKV_AWS_356:Describe actions take no resource ARN; the services are made at run time
  #checkov:skip=CKV_AWS_111:Endpoint services are made at run time; their ARNs are not known here
  #checkov:skip=CKV_AWS_109:Allowing one account per service is the product (ModifyVpcEndpointServicePermissions)
  statement {
    sid    = "PrivateLinkEndpointServices"
    effect = "Allow"
    actions = [
      "ec2:CreateVpcEndpointServiceConfiguration",
      "ec2:DescribeVpcEndpointServiceConfigurations",
      "ec2:DeleteVpcEndpointServiceConfigurations",
      "ec2:ModifyVpcEndpointServicePermissions",
      "ec2:DescribeVpcEndpointServicePermissions",
      "ec2:DescribeVpcEndpointConnections",
      "ec2:AcceptVpcEndpointConnections",
      "ec2:RejectVpcEndpointConnections",
      "ec2:StartVpcEndpointServicePrivateDnsVerification",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "TagServicesOnCreate"
    effect    = "Allow"
    actions   = ["ec2:CreateTags"]
    resources = ["arn:aws:ec2:*:*:vpc-endpoint-service/*"]

    condition {
      test     = "StringEquals"
      variable = "ec2:CreateAction"
      values   = ["CreateVpcEndpointServiceConfiguration"]
    }
  }

  # Read-only: the health of the targets behind each active service's load balancer. These
  # Describe actions take no resource ARN.
  statement {
    sid    = "ReadTargetHealth"
    effect = "Allow"
    actions = [
      "elasticloadbalancing:DescribeTargetGroups",
      "elasticloadbalancing:DescribeTargetHealth",
    ]
    resources = ["*"]
  }
}

resource "aws_iam_role" "bot" {
  name                 = var.name
  description          = "privatelink-bot: manages the VPC endpoint services in front of the clusters' NLBs"
  assume_role_policy   = var.runtime == "eks" ? data.aws_iam_policy_document.assume_eks[0].json : data.aws_iam_policy_document.assume_ecs[0].json
  permissions_boundary = var.permissions_boundary
  tags                 = var.tags

  lifecycle {
    precondition {
      condition     = var.runtime != "eks" || var.oidc_provider_arn != null
      error_message = "runtime \"eks\" needs oidc_provider_arn: the cluster's IAM OIDC provider."
    }
  }
}

resource "aws_iam_role_policy" "bot" {
  name   = var.name
  role   = aws_iam_role.bot.id
  policy = data.aws_iam_policy_document.bot.json
}
