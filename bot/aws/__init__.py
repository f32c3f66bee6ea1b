"""The AWS edge: the PrivateLink gateway (boto3) and AWS errors explained in plain words."""
