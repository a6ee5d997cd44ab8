"""The labelled evaluation set of customer messages and what a right decision for each is."""
