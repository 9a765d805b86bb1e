"""Schematron child process: `python -m facturx_export.saxon_worker`, driven by checks.py.

SaxonC holds the GIL while it transforms, so running it in a thread of the web or worker
process would only serialise it with WeasyPrint. This child owns one Saxon processor and
the compiled stylesheets; the parent's Saxon thread sends it one request at a time and
waits on the pipe (which releases the GIL). The XSD check and the reading of the Schematron
report run here too, beside the render. Protocol on stdin/stdout: 4-byte big-endian
length + pickle, both ways. Request (profile, xml_text, fr_ctc: also the French CTC
rules); answer (problems, cpu_seconds, error_text). It exits when its stdin closes (its
parent is gone).
"""

import pickle
import struct
import sys


def read_message(stream):
    header = stream.read(4)
    if len(header) < 4:
        return None
    (size,) = struct.unpack(">I", header)
    return pickle.loads(stream.read(size))  # noqa: S301 (our own parent, over a private pipe)


def write_message(stream, payload) -> None:
    data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(struct.pack(">I", len(data)) + data)
    stream.flush()


def main() -> int:
    from facturx_export.checks import run_rules_here

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing else may write to the protocol stream
    while (request := read_message(stdin)) is not None:
        profile, xml_text, fr_ctc = request
        try:
            problems, cpu = run_rules_here(profile, xml_text, fr_ctc)
            write_message(stdout, (problems, cpu, ""))
        except Exception as exc:  # reported to the parent, which fails the check
            write_message(stdout, ([], 0.0, f"{type(exc).__name__}: {exc}"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
