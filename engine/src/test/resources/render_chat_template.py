# Renders chat templates as transformers does (utils/chat_template_utils.py): Jinja2's ImmutableSandboxedEnvironment
# with trim_blocks, lstrip_blocks, loop controls, a {% generation %} tag, HF's tojson and the globals raise_exception
# and strftime_now (here at the fixed instant the Java side uses). Input on stdin: a JSON list of cases
# {template, messages, add_generation_prompt, bos_token, eos_token, kwargs}; output: a JSON list of
# {"text": ...} or {"error": one line}.
import json
import sys
from datetime import datetime

import jinja2
from jinja2 import nodes
from jinja2.ext import Extension
from jinja2.sandbox import ImmutableSandboxedEnvironment

NOW = datetime(2026, 3, 7, 14, 5, 9)


class GenerationExtension(Extension):
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.Scope(body).set_lineno(lineno)


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                    extensions=[GenerationExtension, jinja2.ext.loopcontrols])
env.filters["tojson"] = tojson
env.globals["raise_exception"] = raise_exception
env.globals["strftime_now"] = lambda fmt: NOW.strftime(fmt)

out = []
for case in json.load(sys.stdin):
    try:
        template = env.from_string(case["template"])
        text = template.render(messages=case["messages"], tools=None, documents=None,
                               add_generation_prompt=case["add_generation_prompt"], bos_token=case["bos_token"],
                               eos_token=case["eos_token"], **case["kwargs"])
        out.append({"text": text})
    except jinja2.exceptions.TemplateError as e:
        out.append({"error": " ".join(str(e).split())})
json.dump(out, sys.stdout)
