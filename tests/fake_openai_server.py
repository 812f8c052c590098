"""A scripted OpenAI-compatible chat-completions server on 127.0.0.1, run as a separate process.

    python tests/fake_openai_server.py SCRIPT.json LOG.jsonl   (prints the port on stdout)

SCRIPT is a JSON list of replies, served in order: {"content": str | null, "tool_calls":
[{"name": str, "arguments": dict | str}]}. Requests with "stream": true get server-sent events
(content and tool-call deltas), like OpenAI, vLLM and llama.cpp do. Every request body is appended
to LOG so tests can check what the real `openai` client sent (tools, tool results, errors).
"""
from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SCRIPT: list[dict] = []
LOG_PATH = ""
LOCK = threading.Lock()


def _tool_calls(reply: dict) -> list[dict]:
    calls = []
    for n, call in enumerate(reply.get("tool_calls") or []):
        args = call["arguments"] if isinstance(call["arguments"], str) else json.dumps(call["arguments"])
        calls.append({"index": n, "id": f"call_{n}_{int(time.time() * 1000) % 100000}", "type": "function",
                      "function": {"name": call["name"], "arguments": args}})
    return calls


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with LOCK:
            with open(LOG_PATH, "a") as log:
                log.write(json.dumps(body) + "\n")
            reply = SCRIPT.pop(0) if SCRIPT else {"content": "(script exhausted)"}
        calls = _tool_calls(reply)
        finish = "tool_calls" if calls else "stop"
        base = {"id": "chatcmpl-fake", "created": int(time.time()), "model": body.get("model", "fake")}
        if body.get("stream"):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            chunks = [{"role": "assistant", "content": ""}]
            for n, word in enumerate((reply.get("content") or "").split(" ")):
                if reply.get("content"):
                    chunks.append({"content": word if n == 0 else " " + word})
            for call in calls:
                chunks.append({"tool_calls": [{**call, "function": {"name": call["function"]["name"],
                                                                    "arguments": ""}}]})
                chunks.append({"tool_calls": [{"index": call["index"],
                                               "function": {"arguments": call["function"]["arguments"]}}]})
            for delta in chunks:
                event = {**base, "object": "chat.completion.chunk",
                         "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
                self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
            end = {**base, "object": "chat.completion.chunk",
                   "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]}
            self.wfile.write(f"data: {json.dumps(end)}\n\ndata: [DONE]\n\n".encode())
            return
        message = {"role": "assistant", "content": reply.get("content")}
        if calls:
            message["tool_calls"] = [{k: v for k, v in c.items() if k != "index"} for c in calls]
        payload = {**base, "object": "chat.completion",
                   "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                   "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main() -> None:
    global SCRIPT, LOG_PATH
    SCRIPT = json.load(open(sys.argv[1]))
    LOG_PATH = sys.argv[2]
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
