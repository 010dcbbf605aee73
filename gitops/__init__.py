"""The GitOps writer: generates the environments repo and commits releases and promotions into it."""
