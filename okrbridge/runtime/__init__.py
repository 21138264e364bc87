"""Runtime pieces the daemon, the web app and the scheduler share: the inbox writer (durable,
group-committed webhook acceptance) and the daemon's metrics. They sit below all three, so the
imports between the core's packages run one way."""
