"""reporting_service: Mental Health Units (Use of Force) Act 2018 compliance reports a regulator
can check."""
