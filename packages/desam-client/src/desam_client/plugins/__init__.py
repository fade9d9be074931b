"""Plugins: extend a DeSAM client through pluggy hooks (project name ``desam``).

Write a plugin as any object (or module) with functions marked ``@hookimpl``
and named after the hooks in :mod:`desam_client.plugins.hookspecs`; pass it as
``DeSAMClient(..., plugins=[MyPlugin()])``, or publish it under the entry-point
group ``desam.plugins`` to have every client load it (an entry point naming a
class gets one instance per client). Entry-point loading is switched off by
``load_entrypoint_plugins=False`` or the environment variable
``DESAM_DISABLE_PLUGIN_AUTOLOAD=1``.

:mod:`desam_client.plugins.hookspecs` is the reference: every hook, when it
runs, what it gets and returns, and the order plugins are consulted in.
``examples/plugins`` in the repository is a complete, installable plugin package.
"""

from __future__ import annotations

import pluggy

from desam_client._pipeline.call import CallInfo
from desam_client.plugins.hookspecs import PROJECT

#: Marks a function as the implementation of a DeSAM hook.
hookimpl = pluggy.HookimplMarker(PROJECT)

#: The entry-point group scanned for plugins.
ENTRY_POINT_GROUP = "desam.plugins"

#: Set this environment variable to ``1`` to skip entry-point plugins.
DISABLE_AUTOLOAD_ENV = "DESAM_DISABLE_PLUGIN_AUTOLOAD"

__all__ = ["DISABLE_AUTOLOAD_ENV", "ENTRY_POINT_GROUP", "CallInfo", "hookimpl"]
