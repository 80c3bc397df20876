#!/usr/bin/python3
"""tb_read.py - an independent reader of pictor's TensorBoard event files (for test_tbevents.c).

Owns: the Python side of the tbevents checks. It decodes the file with its own code (bitwise
CRC32C, not the C table; its own protobuf varint parser), and, when python3-protobuf is
installed, parses every record again with the real protobuf library (message types built at run
time from descriptors, with the field numbers of tensorflow's event.proto and summary.proto) and
checks that re-serializing gives back the exact bytes that were written (canonical encoding).
Debian 12 has no tensorboard package, so TensorBoard's own reader cannot be used here.

usage: tb_read.py EVENTS_FILE EXPECTED.json
EXPECTED.json: {"purge_step": null or int,
                "events": [{"step": int, "values": {"tag": number or "nan"/"inf"/"-inf"}}, ...]}
Exit status 0 when the file holds exactly file_version, [session start at purge_step], then the
expected summary events, and every CRC verifies; 1 otherwise (the reason is printed).
"""
import json
import math
import struct
import sys


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def masked(crc):
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def records(blob):
    at = 0
    while at < len(blob):
        if len(blob) - at < 12:
            raise ValueError("torn record header at offset %d" % at)
        (length,) = struct.unpack_from("<Q", blob, at)
        (len_crc,) = struct.unpack_from("<I", blob, at + 8)
        if masked(crc32c(blob[at:at + 8])) != len_crc:
            raise ValueError("length CRC mismatch at offset %d" % at)
        start = at + 12
        if len(blob) - start < length + 4:
            raise ValueError("torn record data at offset %d" % at)
        data = blob[start:start + length]
        (data_crc,) = struct.unpack_from("<I", blob, start + length)
        if masked(crc32c(data)) != data_crc:
            raise ValueError("data CRC mismatch at offset %d" % at)
        yield data
        at = start + length + 4


def varint(buf, at):
    value = shift = 0
    while True:
        byte = buf[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, at


def fields(buf):
    """(field number, wire type, value) of a message; length-delimited values are bytes."""
    at = 0
    while at < len(buf):
        key, at = varint(buf, at)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, at = varint(buf, at)
        elif wire == 1:
            value = buf[at:at + 8]
            at += 8
        elif wire == 2:
            n, at = varint(buf, at)
            value = buf[at:at + n]
            at += n
        elif wire == 5:
            value = buf[at:at + 4]
            at += 4
        else:
            raise ValueError("unexpected wire type %d" % wire)
        if at > len(buf):
            raise ValueError("field %d runs past the end of its message" % field)
        yield field, wire, value


def decode_event(data):
    ev = {"wall_time": None, "step": 0, "file_version": None, "session_status": None,
          "values": []}
    for field, wire, value in fields(data):
        if (field, wire) == (1, 1):
            ev["wall_time"] = struct.unpack("<d", value)[0]
        elif (field, wire) == (2, 0):
            ev["step"] = value - (1 << 64) if value >= 1 << 63 else value
        elif (field, wire) == (3, 2):
            ev["file_version"] = value.decode()
        elif (field, wire) == (5, 2):
            for f, w, v in fields(value):
                if (f, w) != (1, 2):
                    raise ValueError("Summary: unexpected field %d" % f)
                tag, raw = None, None
                for vf, vw, vv in fields(v):
                    if (vf, vw) == (1, 2):
                        tag = vv.decode()
                    elif (vf, vw) == (2, 5):
                        raw = vv
                    else:
                        raise ValueError("Summary.Value: unexpected field %d" % vf)
                ev["values"].append((tag, raw))
        elif (field, wire) == (7, 2):
            for f, w, v in fields(value):
                if (f, w) == (1, 0):
                    ev["session_status"] = v
        else:
            raise ValueError("Event: unexpected field %d wire %d" % (field, wire))
    return ev


def protobuf_event_class():
    """The Event message class built from descriptors, or None without python3-protobuf."""
    try:
        from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
    except ImportError:
        return None
    F = descriptor_pb2.FieldDescriptorProto
    fdp = descriptor_pb2.FileDescriptorProto(name="pictor_tb_check.proto", package="tensorflow",
                                             syntax="proto3")
    summary = fdp.message_type.add(name="Summary")
    value = summary.nested_type.add(name="Value")
    value.oneof_decl.add(name="value")
    value.field.add(name="tag", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    value.field.add(name="simple_value", number=2, type=F.TYPE_FLOAT, label=F.LABEL_OPTIONAL,
                    oneof_index=0)
    summary.field.add(name="value", number=1, type=F.TYPE_MESSAGE, label=F.LABEL_REPEATED,
                      type_name=".tensorflow.Summary.Value")
    slog = fdp.message_type.add(name="SessionLog")
    status = slog.enum_type.add(name="SessionStatus")
    for i, n in enumerate(["STATUS_UNSPECIFIED", "START", "STOP", "CHECKPOINT"]):
        status.value.add(name=n, number=i)
    slog.field.add(name="status", number=1, type=F.TYPE_ENUM, label=F.LABEL_OPTIONAL,
                   type_name=".tensorflow.SessionLog.SessionStatus")
    event = fdp.message_type.add(name="Event")
    event.oneof_decl.add(name="what")
    event.field.add(name="wall_time", number=1, type=F.TYPE_DOUBLE, label=F.LABEL_OPTIONAL)
    event.field.add(name="step", number=2, type=F.TYPE_INT64, label=F.LABEL_OPTIONAL)
    event.field.add(name="file_version", number=3, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL,
                    oneof_index=0)
    event.field.add(name="summary", number=5, type=F.TYPE_MESSAGE, label=F.LABEL_OPTIONAL,
                    type_name=".tensorflow.Summary", oneof_index=0)
    event.field.add(name="session_log", number=7, type=F.TYPE_MESSAGE, label=F.LABEL_OPTIONAL,
                    type_name=".tensorflow.SessionLog", oneof_index=0)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    desc = pool.FindMessageTypeByName("tensorflow.Event")
    if hasattr(message_factory, "GetMessageClass"):
        return message_factory.GetMessageClass(desc)
    return message_factory.MessageFactory(pool).GetPrototype(desc)


def expected_float_bits(v):
    if isinstance(v, str):
        v = float(v)
    return struct.pack("<f", v)


def same_value(raw, want):
    got = struct.unpack("<f", raw)[0]
    if isinstance(want, str) or (isinstance(want, float) and math.isnan(want)):
        want = float(want)
        if math.isnan(want):
            return math.isnan(got)
    return raw == expected_float_bits(want)


def check(path, expected):
    blob = open(path, "rb").read()
    events = [(data, decode_event(data)) for data in records(blob)]
    event_class = protobuf_event_class()
    if event_class is not None:
        for data, ev in events:
            msg = event_class()
            msg.ParseFromString(data)
            if msg.SerializeToString() != data:
                raise ValueError("protobuf re-serializes record at step %d differently" % ev["step"])
            if msg.step != ev["step"]:
                raise ValueError("protobuf step %d != %d" % (msg.step, ev["step"]))
            tags = [v.tag for v in msg.summary.value]
            if tags != [t for t, _ in ev["values"]]:
                raise ValueError("protobuf tags %r differ" % tags)
    if not events or events[0][1]["file_version"] != "brain.Event:2":
        raise ValueError("first record is not file_version brain.Event:2")
    rest = [ev for _, ev in events[1:]]
    purge = expected.get("purge_step")
    if purge is not None:
        if not rest or rest[0]["session_status"] != 1 or rest[0]["step"] != purge:
            raise ValueError("second record is not SessionLog START at step %d" % purge)
        rest = rest[1:]
    want = expected["events"]
    if len(rest) != len(want):
        raise ValueError("%d summary events, expected %d" % (len(rest), len(want)))
    for ev, w in zip(rest, want):
        if ev["step"] != w["step"]:
            raise ValueError("step %d, expected %d" % (ev["step"], w["step"]))
        if ev["wall_time"] is None or not ev["wall_time"] > 1e9:
            raise ValueError("step %d: wall_time %r" % (ev["step"], ev["wall_time"]))
        tags = [t for t, _ in ev["values"]]
        if tags != list(w["values"].keys()):
            raise ValueError("step %d: tags %r, expected %r" % (ev["step"], tags,
                                                                 list(w["values"].keys())))
        for tag, raw in ev["values"]:
            if raw is None or not same_value(raw, w["values"][tag]):
                raise ValueError("step %d %s: value differs" % (ev["step"], tag))
    return len(events), event_class is not None


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[2]) as f:
        expected = json.load(f)
    try:
        n, with_protobuf = check(sys.argv[1], expected)
    except Exception as e:  # noqa: BLE001 - any decoding failure is a failed check
        print("tb_read: %s: %s" % (sys.argv[1], e), file=sys.stderr)
        return 1
    print("tb_read: %d records, all CRCs verify; protobuf library check: %s"
          % (n, "passed" if with_protobuf else "skipped (python3-protobuf not installed)"),
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
