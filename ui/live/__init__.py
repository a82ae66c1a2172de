"""The live screen: small widgets, each one job, composed by `screen.LiveView`."""
