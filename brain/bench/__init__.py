"""`brain bench`: the whole pipeline (MQTT -> bridge -> Kafka -> processors -> sink -> InfluxDB)
driven at a given or maximal rate, checked for loss and double counting, next to the raw limits of
Mosquitto and Kafka measured in the same run. See docs/BENCHMARKS.md, section "End to end"."""
