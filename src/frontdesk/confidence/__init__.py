"""Reply confidence: the calibrated probability that a draft is the right reply, which the
coordinator routes on."""
