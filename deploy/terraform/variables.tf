variable "name" {
  description = "Name of the IAM role and of its policy."
  type        = string
  default     = "privatelink-bot"
}

variable "runtime" {
  description = "Who assumes the role: \"eks\" (IRSA, the pods' service account) or \"ecs\" (the task role)."
  type        = string

  validation {
    condition     = contains(["eks", "ecs"], var.runtime)
    error_message = "runtime must be \"eks\" or \"ecs\"."
  }
}

variable "oidc_provider_arn" {
  description = "eks: the ARN of the cluster's IAM OIDC provider (arn:aws:iam::<account>:oidc-provider/oidc.eks.<region>.amazonaws.com/id/<id>)."
  type        = string
  default     = null
}

variable "namespace" {
  description = "eks: the namespace the bot runs in (deploy/kubernetes/kustomization.yaml)."
  type        = string
  default     = "privatelink-bot"
}

variable "service_account" {
  description = "eks: the service account of the bot's pods (deploy/kubernetes/serviceaccount.yaml)."
  type        = string
  default     = "privatelink-bot"
}

variable "permissions_boundary" {
  description = "ARN of a permissions boundary for the role, if your organisation requires one."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for the role."
  type        = map(string)
  default     = {}
}
