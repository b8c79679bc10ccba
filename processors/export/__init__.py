"""The factory export (`brain export`): final site/line KPI records of the plant config's
allowlist -> `brain.export`, stamped with the enterprise id (docs/FEDERATION.md)."""
