output "role_arn" {
  description = "The role's ARN: on EKS the service account's eks.amazonaws.com/role-arn annotation, on ECS the task definition's taskRoleArn."
  value       = aws_iam_role.bot.arn
}

output "role_name" {
  description = "The role's name."
  value       = aws_iam_role.bot.name
}
