"""Confluent's own Python client (Debian python3-confluent-kafka, legacy confluent_kafka.avro API) against our stack.

Our topics have plain string keys (topics.md), and the legacy AvroConsumer insists on decoding keys as Avro too, so
the consumer side uses the same library's pieces directly: a plain Consumer, CachedSchemaRegistryClient and the
MessageSerializer that AvroConsumer itself uses for values. The producer side is AvroProducer as is (no key).

usage: confluent_interop.py consume BOOTSTRAP REGISTRY TOPIC COUNT
       confluent_interop.py produce BOOTSTRAP REGISTRY TOPIC COUNT SCHEMA_FILE
consume prints one JSON line per SupportTicket read; produce writes COUNT tickets T-py-0.. and prints "produced N".
"""
import datetime
import json
import sys
import time

from confluent_kafka import Consumer, avro
from confluent_kafka.avro import AvroProducer, CachedSchemaRegistryClient
from confluent_kafka.avro.serializer.message_serializer import MessageSerializer


def millis(value):
    if isinstance(value, datetime.datetime):
        return int(value.timestamp() * 1000)
    return value


def consume(bootstrap, registry, topic, count):
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": "confluent-python-interop",
        "auto.offset.reset": "earliest",
    })
    serializer = MessageSerializer(CachedSchemaRegistryClient({"url": registry}))
    consumer.subscribe([topic])
    read = 0
    deadline = time.time() + 60
    while read < count and time.time() < deadline:
        msg = consumer.poll(1.0)
        if msg is None:
            continue
        if msg.error():
            raise SystemExit("consumer error: %s" % msg.error())
        v = serializer.decode_message(msg.value(), is_key=False)
        print(json.dumps({
            "ticket_id": v["ticket_id"],
            "created_at": millis(v["created_at"]),
            "subject": v["subject"],
            "channel": v["channel"],
            "messages": [[m["author_role"], m["body"], millis(m["sent_at"])] for m in v["messages"]],
            "tags": v["tags"],
            "satisfaction_score": v["satisfaction_score"],
        }, ensure_ascii=False), flush=True)
        read += 1
    consumer.close()
    if read < count:
        raise SystemExit("read %d of %d records" % (read, count))


def produce(bootstrap, registry, topic, count, schema_file):
    with open(schema_file) as f:
        schema = avro.loads(f.read())
    producer = AvroProducer({"bootstrap.servers": bootstrap, "schema.registry.url": registry}, default_value_schema=schema)
    t0 = datetime.datetime(2026, 11, 28, 12, 0, 0, 500000, tzinfo=datetime.timezone.utc)
    for i in range(count):
        producer.produce(topic=topic, value={
            "ticket_id": "T-py-%d" % i,
            "created_at": t0,
            "product": "python",
            "channel": "EMAIL",
            "language": "de",
            "subject": "Grüße aus Python %d" % i,
            "messages": [{"author_role": "CUSTOMER", "body": "Hallo %d" % i, "sent_at": t0}],
            "resolution": None,
            "status": "PENDING",
            "tags": ["py"],
            "satisfaction_score": i,
        })
    producer.flush(30)
    print("produced %d" % count, flush=True)


if __name__ == "__main__":
    mode, bootstrap, registry, topic, count = sys.argv[1:6]
    if mode == "consume":
        consume(bootstrap, registry, topic, int(count))
    else:
        produce(bootstrap, registry, topic, int(count), sys.argv[6])
