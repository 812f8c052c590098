"""Model loading, the model handle, and tasks (classification and generation)."""
from tools.models.handle import ModelHandle, build_task, load_model
from tools.models.label_words import LabelWordTask
from tools.models.tasks import (
    Encoded,
    Generation,
    GenerationTask,
    SequenceClassifierTask,
    Task,
)

__all__ = [
    "Encoded", "Generation", "GenerationTask", "LabelWordTask", "ModelHandle", "SequenceClassifierTask",
    "Task", "build_task", "load_model",
]
