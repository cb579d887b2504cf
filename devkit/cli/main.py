"""The ``seglift`` command: the local cloud, the Shopify emulator and the demo.

seglift demo [--customers N] [--seed S]       the main job, end to end, with a report
                [--no-serve]                  (then, on a terminal, serves the dashboard)
seglift serve [--port P] [--customers N]      keep the local cloud, API, emulator and
                [--dashboard-port P]          the dashboard up
seglift emulator [--port P] [--customers N]   the Shopify emulator alone
seglift import-orders FILE --shop S [--serve] load a Shopify order-export CSV and report

demo and serve run on a generated store, or on a merchant's own history with
  --import orders_export.csv [--customers-file customers_export.csv]
  [--currency EUR] [--timezone Europe/Berlin]   (both read from the file when left out)
"""

from __future__ import annotations

import argparse
import sys

from devkit.cli.progress import StepFailed
from devkit.import_orders import ImportOptions


def _add_store_options(parser: argparse.ArgumentParser, customers: int) -> None:
    parser.add_argument("--customers", type=int, default=customers, help="store size to generate")
    parser.add_argument(
        "--seed", type=int, default=42, help="generator seed (same seed, same store)"
    )
    parser.add_argument("--shop", default="demo-shop.myshopify.com", help="shop domain")


def _add_import_options(parser: argparse.ArgumentParser, *, positional: bool) -> None:
    if positional:
        parser.add_argument("file", help="the CSV from Shopify admin > Orders > Export")
    else:
        parser.add_argument(
            "--import", dest="import_path", metavar="ORDERS_CSV", default=None,
            help="run on this Shopify order export (admin > Orders > Export) instead of a "
            "generated store",
        )
    parser.add_argument(
        "--customers-file", metavar="CUSTOMERS_CSV", default=None,
        help="Shopify's customer export (admin > Customers > Export): tags, marketing "
        "consent and addresses of the customers",
    )
    parser.add_argument(
        "--currency", default=None, help="the shop's currency, e.g. EUR (default: from the file)"
    )
    parser.add_argument(
        "--timezone", default=None,
        help="the shop's IANA time zone, e.g. Europe/Berlin (default: from the dates' UTC "
        "offsets in the file)",
    )


def _import_options(args: argparse.Namespace) -> ImportOptions | None:
    if args.import_path is None:
        return None
    return ImportOptions(orders_path=args.import_path, customers_path=args.customers_file,
                         currency=args.currency, timezone=args.timezone)


def _add_dashboard_port(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dashboard-port", type=int, default=8601, help="port of the local web dashboard"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="seglift", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="run the daily job on the local cloud and report")
    _add_store_options(demo, customers=3000)
    demo.add_argument(
        "--no-serve",
        action="store_true",
        help="exit after the report (default on a terminal: keep serving the dashboard)",
    )
    _add_dashboard_port(demo)
    _add_import_options(demo, positional=False)

    serve = commands.add_parser("serve", help="keep the local cloud, API and emulator running")
    _add_store_options(serve, customers=3000)
    serve.add_argument("--port", type=int, default=8600, help="local API port")
    serve.add_argument("--emulator-port", type=int, default=8700, help="Shopify emulator port")
    _add_dashboard_port(serve)
    _add_import_options(serve, positional=False)

    emulator = commands.add_parser("emulator", help="run the Shopify emulator alone")
    _add_store_options(emulator, customers=3000)
    emulator.add_argument("--port", type=int, default=8700)
    emulator.add_argument(
        "--restore-rate",
        type=float,
        default=None,
        help="bucket restore rate in points/s (default: by plan)",
    )

    imports = commands.add_parser("import-orders", help="load a Shopify order-export CSV")
    _add_import_options(imports, positional=True)
    imports.add_argument("--shop", required=True, help="shop domain, e.g. my-shop.myshopify.com")
    imports.add_argument(
        "--serve", action="store_true", help="then serve the imported store with the emulator"
    )
    imports.add_argument("--port", type=int, default=8700)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "demo":
            from devkit.demo import run_demo

            return run_demo(
                customers=args.customers,
                seed=args.seed,
                shop=args.shop,
                keep_serving=not args.no_serve and sys.stdout.isatty(),
                dashboard_port=args.dashboard_port,
                imported=_import_options(args),
            )
        if args.command == "serve":
            from devkit.serve import serve

            return serve(
                customers=args.customers,
                seed=args.seed,
                shop=args.shop,
                api_port=args.port,
                emulator_port=args.emulator_port,
                dashboard_port=args.dashboard_port,
                imported=_import_options(args),
            )
        if args.command == "emulator":
            from devkit.shopify_emulator.standalone import run
            from devkit.store.generator import StoreSpec, generate_store

            store = generate_store(
                StoreSpec(domain=args.shop, customers=args.customers, seed=args.seed)
            )
            run(args.port, [store], restore_rate=args.restore_rate)
            return 0
        if args.command == "import-orders":
            from devkit.import_orders import import_orders_command

            return import_orders_command(
                args.file, args.shop, customers_path=args.customers_file,
                currency=args.currency, timezone=args.timezone, serve=args.serve,
                port=args.port,
            )
    except StepFailed as failure:
        print(f"\nseglift {args.command} failed: {failure}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
