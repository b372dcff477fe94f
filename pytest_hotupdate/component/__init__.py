"""Components: loading them (with the verified compile cache), what they define, and the
transformations a component goes through before it runs.

- :mod:`.load`: :class:`LoadedComponent` (exports, imports, Golem function names), the
  compile cache, the engine configuration;
- :mod:`.footprint`: the memories and tables a binary defines, and the Store limits they get;
- :mod:`.shims`: composing a component with the WAT shims wasmtime-py needs (their WAT and WIT
  are package data under ``shim_sources/``);
- :mod:`.bulk`: the hidden export that moves snapshots of any size;
- :mod:`.wasm_tools`: where the runtime finds ``wasm-tools``.
"""

from .load import (
    CACHE_ENTRY_MAGIC,
    ComponentCache,
    EngineConfig,
    FunctionInfo,
    ImportedFunction,
    LoadedComponent,
    default_cache_dir,
    make_engine,
    read_component_file,
    write_atomically,
)

__all__ = ["CACHE_ENTRY_MAGIC", "ComponentCache", "EngineConfig", "FunctionInfo",
           "ImportedFunction", "LoadedComponent", "default_cache_dir", "make_engine",
           "read_component_file", "write_atomically"]
