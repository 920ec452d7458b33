"""Building an AWS deployment: its Lambda environment, packages and Terraform."""
