"""Building and checking what `sam build` ships to Lambda (``make package``, ``make lock``).

- ``target``: the runtime and architecture the template deploys, and pip's tags for them.
- ``lockfile``: reading the hashed lock and deriving each layer's requirements from it.
- ``build``: the recipe `sam build` runs for each layer and function (BuildMethod makefile).
- ``transformed``: the SAM-transformed template, linted by cfn-lint with errors fatal.
- ``check``: sizes, handler imports, shipped bytecode and time zones of the built artefacts.
"""
