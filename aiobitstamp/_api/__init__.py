"""The client's endpoints, one module per area; ``Client`` inherits them all.

Each module holds a mixin of thin typed methods: check the arguments (``_params``), name the
route (``_routes``), and hand both to the request pipeline through ``ApiBase._call``.
"""
