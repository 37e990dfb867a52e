def main(argv: list[str]) -> None:
    raise SystemExit("not written yet")
