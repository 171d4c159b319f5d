"""Dataset versions: tag, load by git revision, diff, drift, and a torch Dataset."""
