"""One room per kind: what is that kind's and nobody else's. A kind backed
by an InfluxDB object gives the driver its `External` adapter and runs it;
the InfluxDBInstance has none (it is never written) and lists its org."""
