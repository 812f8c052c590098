"""The chat component, taking back the history a `gradio_client` caller got from it (issue 22).

`gradio_client` downloads every file in a result and puts its local path where the file's data
was, so a figure message comes back as `{"component": "image", "value": "/tmp/gradio/.../x.png"}`
and Gradio's Chatbot fails on it (`ImageData() argument after ** must be a mapping, not str`):
a client that sends `/ask` the history it received could not ask a second question.

A path string sent by a client is never opened as it is (it names a file on the client's side, or
anything on ours). Only its file name is used: when it names a figure or report this server wrote
(in WHYBOX_HOME/figures or /reports), the message gets the server's own file back; anything else
becomes a short text saying a figure was left out.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import gradio as gr
from gradio.components.chatbot import ComponentMessage

LEFT_OUT = "(a figure this server did not make was left out)"
TAKEN_BACK = {"image": gr.Image, "file": gr.File}  # figures, and reports offered as downloads (issue 21)


def history_chatbot(own_folders: Sequence[str | Path], **kwargs: Any) -> gr.Chatbot:
    """A `gr.Chatbot(**kwargs)` whose history input takes back figures as path strings. (Its
    content step is wrapped on the instance: a subclass of a Gradio component makes Gradio write
    a .pyi stub next to this module on every import.)"""
    chatbot = gr.Chatbot(**kwargs)
    folders = tuple(Path(f) for f in own_folders)
    original = chatbot._preprocess_content

    def preprocess_content(chat_message: Any) -> Any:
        if isinstance(chat_message, ComponentMessage) and not isinstance(chat_message.value, dict):
            sent = chat_message.value
            own = own_file(sent[0] if isinstance(sent, list) and len(sent) == 1 else sent, folders)  # gr.File: [path]
            if own is None or chat_message.component not in TAKEN_BACK:
                return {"type": "text", "text": LEFT_OUT}
            message = chat_message.model_dump()
            message["value"] = str(own)
            message["instance"] = TAKEN_BACK[chat_message.component](value=str(own), **chat_message.constructor_args)
            return message
        return original(chat_message)

    chatbot._preprocess_content = preprocess_content  # type: ignore[method-assign]
    return chatbot


def own_file(sent: Any, folders: Sequence[Path]) -> Path | None:
    """The server's file with the file name of `sent` (a path string), if one of `folders` has it."""
    if not isinstance(sent, str) or not sent.strip():
        return None
    name = Path(sent.replace("\\", "/")).name
    for folder in folders:
        candidate = folder / name
        if name and candidate.is_file() and candidate.resolve().parent == folder.resolve():
            return candidate
    return None
