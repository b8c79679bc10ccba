"""Alert delivery (`brain notify`): MQTT retained state and webhooks (DingTalk, WeCom, Feishu,
generic JSON) with retries, rate limits and dead letters. Pure parts: config.py, formats.py,
mqtt.py's `publications`; I/O: delivery.py's `http_post`, mqtt.py's `MqttPublisher`, service.py."""
