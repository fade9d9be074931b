"""``desam``: the command line of the DeSAM SDK.

Submit a job, follow its output, wait for it::

    $ export DESAM_HOST=localhost DESAM_API_KEY=sk-...
    $ desam submit --name hello -- echo hello
    job-3fa2c81b09de
    $ desam logs -f job-3fa2c81b09de
    hello
    $ desam wait job-3fa2c81b09de && echo ok

Run ``desam --help`` (or ``desam COMMAND --help``) for every command and option,
and :mod:`desam_client.cli._config` for where settings come from (flags, then
``DESAM_*`` environment variables, then a config file profile).
"""

from __future__ import annotations

from desam_client.cli._main import main

__all__ = ["main"]
