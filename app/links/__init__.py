"""Link state: how a page's view is written into its URL and read back.

- ``fields``: the one mechanism. A page's state is a frozen dataclass plus a tuple of ``Field``
  declarations (query key, attribute, parser with its bounds, widget key); encoding, decoding,
  the warnings for bad values and the binding to the page's widgets all come from there.
- ``surface``: the parsers every surface-based page shares (landscape parameters, start point).
- ``v1``: the frozen meaning of ``v=1`` links (``v1_defaults.json``, data generated once).
"""
