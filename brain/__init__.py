"""Industrial Brain 1+N: the shell around the platform (command line, settings, local stack).

The pure cores live in `ingest` (parsing, validation) and `processors.kpi` (KPI math); this
package holds what every component shares: connection settings, the v1 records, logging.
"""

__version__ = "0.1.0"
