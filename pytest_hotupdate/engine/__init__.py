"""The engine: what all workers share (:mod:`.runtime`) and the C-API fast paths they call
through (:mod:`.ffi`)."""

from .ffi import INTERRUPT_MARKER, DirectFunc, Interrupter, fast_type
from .runtime import HostJob, HostThreads, Runtime, SerialRunner

__all__ = ["INTERRUPT_MARKER", "DirectFunc", "HostJob", "HostThreads", "Interrupter", "Runtime",
           "SerialRunner", "fast_type"]
