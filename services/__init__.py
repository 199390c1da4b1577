"""The three services of the safety-plan governance platform and the runtime code they share."""
