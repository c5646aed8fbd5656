"""Customer records in from .xlsx/.csv and out to .xlsx, in batches, with a report of every rejected row."""

# A dealership's existing records arrive as Excel sheets or CSV files saved by Excel (UTF-8 with or without
# a BOM, or GBK on Chinese Windows). Rows are validated one by one, matched against the database a batch
# at a time (one query per key kind per batch, not per row), and written a batch per transaction with
# multi-row INSERTs, so 100,000 rows take seconds rather than minutes on either database. Every row ends
# in exactly one outcome (created, updated, unchanged, skipped, rejected); rejected rows are written to a
# CSV report with their reason, so nothing is dropped silently. Matching is by mobile (or, failing that,
# plate), so importing the same file twice, or a file this module exported, changes nothing.

from __future__ import annotations

import codecs
import csv
import re
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from enum import StrEnum
from pathlib import Path
from typing import Any, Final, TextIO
from zoneinfo import ZoneInfo

from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils.datetime import from_excel
from openpyxl.utils.exceptions import InvalidFileException
from tortoise.connection import connections
from tortoise.transactions import in_transaction

from bot.models import Customer, CustomerSource, Staff, Vehicle
from bot.models.booking import reverse
from bot.nlu.phone import parse_mobile
from bot.nlu.plate import is_plate, parse_plate
from bot.services.outbox import placeholder

BATCH_SIZE: Final = 1000
OWNER_REASON: Final = "导入"
READING_SOURCE: Final = "import"
NAME_MAX: Final = 32
MODEL_MAX: Final = 64
MILEAGE_MAX: Final = 2_000_000
EARLIEST_PURCHASE: Final = date(1950, 1, 1)

# Column headers as exported; the first alias of each field below is its export header.
FIELDS: Final = ("name", "mobile", "plate", "model", "vin", "purchase_date", "mileage", "owner")
REQUIRED: Final = ("name", "mobile")
# Header texts people use for each field, best first: when two columns mean the same field, the better
# name wins (a sheet with both 手机 and 电话 takes 手机) and the other is listed as ignored.
ALIASES: Final[dict[str, tuple[str, ...]]] = {
    "name": ("姓名", "客户姓名", "客户名称", "客户", "车主", "车主姓名", "名字"),
    "mobile": ("手机", "手机号", "手机号码", "移动电话", "电话", "联系电话", "联系方式", "电话号码"),
    "plate": ("车牌", "车牌号", "车牌号码"),
    "model": ("车型", "品牌车型", "车辆型号"),
    "vin": ("vin", "车架号", "vin码", "车辆识别代号", "车辆识别号"),
    "purchase_date": ("购车日期", "购买日期", "购车时间"),
    "mileage": ("里程", "公里", "公里数", "里程数", "行驶里程", "km", "当前里程"),
    "owner": ("负责顾问", "顾问", "服务顾问", "销售顾问", "负责人", "专属顾问"),
}
HEADERS: Final[dict[str, str]] = {
    "name": "姓名",
    "mobile": "手机",
    "plate": "车牌",
    "model": "车型",
    "vin": "VIN",
    "purchase_date": "购车日期",
    "mileage": "里程",
    "owner": "负责顾问",
}

# Parenthesised units and required-field stars are not part of a header's name: 里程(km), *手机.
_HEADER_NOISE: Final = re.compile(r"[\s*＊]|\(.*?\)|\[.*?\]")
_VIN: Final = re.compile(r"[A-HJ-NPR-Z0-9]{17}")
_DATE: Final = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?")
_COMPACT_DATE: Final = re.compile(r"(\d{4})(\d{2})(\d{2})")
_MILEAGE: Final = re.compile(r"(\d+(?:\.\d+)?)(万)?(?:公里|千米|km)?", re.IGNORECASE)
# Excel's day numbers for 1950-01-01 .. 2099-12-31: a bare number in a date column within this range
# is a date cell that lost its format (a CSV saved from Excel), not a typo.
_SERIAL_RANGE: Final = range(18264, 73051)


class UnusableFile(Exception):
    """The file cannot be imported at all (unreadable, empty, a required column missing); nothing was written."""


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    SKIPPED = "skipped"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class Reject:
    """A row left out, with the spreadsheet row number, the reason in Chinese and the row as read."""

    row: int
    kinds: tuple[str, ...]
    reason: str
    cells: tuple[str, ...]


@dataclass
class ImportSummary:
    """What an import did: one outcome per data row, plus what was created and what was rejected why."""

    rows: int = 0
    outcomes: Counter[Outcome] = field(default_factory=Counter)
    customers_created: int = 0
    vehicles_created: int = 0
    ignored_columns: tuple[str, ...] = ()
    reject_kinds: Counter[str] = field(default_factory=Counter)
    # The first few rejects, for the on-screen summary; the report file has them all.
    first_rejects: list[Reject] = field(default_factory=list)

    def count(self, outcome: Outcome) -> int:
        return self.outcomes[outcome]


class _Rejected(Exception):
    """Why a row is left out: one or more problems, each a kind (for counting) and its reason in Chinese."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(kind)
        self.kinds: tuple[str, ...] = (kind,)
        self.reason = f"{kind}：{detail}" if detail else kind

    @classmethod
    def all_of(cls, errors: Sequence[_Rejected]) -> _Rejected:
        combined = cls(errors[0].kinds[0])
        combined.kinds = tuple(k for e in errors for k in e.kinds)
        combined.reason = "；".join(e.reason for e in errors)
        return combined


# ---------------------------------------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class HeaderMap:
    """Which column holds each field, and which columns mean nothing to the import."""

    titles: tuple[str, ...]
    columns: dict[str, int]
    ignored: tuple[str, ...]


def _header_key(text: str) -> str:
    return _HEADER_NOISE.sub("", unicodedata.normalize("NFKC", text)).casefold()


def map_header(cells: Sequence[object]) -> HeaderMap:
    """Map a header row onto the import's fields; raise UnusableFile when 姓名 or 手机 is missing."""
    titles = tuple(_text(c) for c in cells)
    ranked: dict[str, tuple[int, int]] = {}
    for column, title in enumerate(titles):
        key = _header_key(title)
        for name, aliases in ALIASES.items():
            if key in aliases:
                rank = (aliases.index(key), column)
                if name not in ranked or rank < ranked[name]:
                    ranked[name] = rank
    columns = {name: column for name, (_, column) in ranked.items()}
    used = set(columns.values())
    ignored = tuple(t for i, t in enumerate(titles) if i not in used and t)
    missing = [f for f in REQUIRED if f not in columns]
    if missing:
        wanted = "；".join(f"{HEADERS[f]}（可写作：{'、'.join(ALIASES[f][:5])}）" for f in missing)
        found = "、".join(t for t in titles if t) or "无"
        raise UnusableFile(f"缺少必需的列：{wanted}。文件第一行的列名是：{found}")
    return HeaderMap(titles, columns, ignored)


@dataclass
class Table:
    """An opened input file: its header and its data rows as (spreadsheet row number, cells)."""

    header: tuple[object, ...]
    rows: Iterator[tuple[int, tuple[object, ...]]]
    # Data rows expected (for the progress bar); None when the file does not say.
    total: int | None


@contextmanager
def open_table(path: Path) -> Iterator[Table]:
    """Open an .xlsx (first sheet, streamed) or a .csv (UTF-8, UTF-8 with BOM, or GBK/GB18030)."""
    if not path.is_file():
        raise UnusableFile(f"找不到文件：{path}")
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        with _open_xlsx(path) as table:
            yield table
    elif suffix == ".csv":
        with _open_csv(path) as table:
            yield table
    elif suffix == ".xls":
        raise UnusableFile("不支持旧版 .xls 文件，请在 Excel 中“另存为” .xlsx 后再导入")
    else:
        raise UnusableFile(f"只支持 .xlsx 和 .csv 文件，不支持 {path.suffix or '无扩展名的文件'}")


@contextmanager
def _open_xlsx(path: Path) -> Iterator[Table]:
    try:
        # read_only streams the sheet's XML; data_only gives formulas' cached values, not their text.
        book = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError) as exc:
        raise UnusableFile(f"无法读取 Excel 文件 {path.name}：{exc}") from exc
    try:
        sheet = book.worksheets[0]
        rows = enumerate(sheet.iter_rows(values_only=True), start=1)
        header = next(rows, None)
        if header is None:
            raise UnusableFile(f"{path.name} 是空的")
        total = sheet.max_row - 1 if sheet.max_row else None
        yield Table(tuple(header[1]), rows, total)
    finally:
        book.close()


def _encoding_of(path: Path) -> str:
    """utf-8-sig for a BOM, utf-8 when the whole file decodes as such, else GB18030 (a superset of GBK)."""
    with path.open("rb") as f:
        if f.read(3) == codecs.BOM_UTF8:
            return "utf-8-sig"
        f.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            while chunk := f.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "gb18030"
    return "utf-8"


@contextmanager
def _open_csv(path: Path) -> Iterator[Table]:
    encoding = _encoding_of(path)
    with path.open("rb") as f:
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
    with path.open(encoding=encoding, newline="") as f:
        try:
            first = f.readline()
            f.seek(0)
            dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(first, delimiters=",\t;")
        except (csv.Error, UnicodeDecodeError):
            dialect = csv.excel
        reader = csv.reader(f, dialect)
        rows = enumerate(reader, start=1)
        try:
            header = next(rows, None)
        except (csv.Error, UnicodeDecodeError) as exc:
            raise UnusableFile(f"无法读取 CSV 文件 {path.name}：{exc}") from exc
        if header is None:
            raise UnusableFile(f"{path.name} 是空的")
        yield Table(tuple(header[1]), _csv_rows(rows, path), max(lines - 1, 0))


def _csv_rows(rows: Iterator[tuple[int, list[str]]], path: Path) -> Iterator[tuple[int, tuple[object, ...]]]:
    try:
        for number, cells in rows:
            yield number, tuple(cells)
    except csv.Error as exc:
        raise UnusableFile(f"CSV 文件 {path.name} 格式有误：{exc}") from exc


# ---------------------------------------------------------------------------------------------- values


def _text(value: object) -> str:
    """A cell as the text a person would read in it (Excel numbers without a trailing .0, dates as dates)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(" ")
    return unicodedata.normalize("NFKC", str(value)).strip()


def parse_mobile_cell(value: object) -> str:
    """A mobile cell holding exactly one mainland mobile (numbers, spaces, dashes and +86 tolerated)."""
    text = _text(value)
    if not text:
        raise _Rejected("手机号为空")
    mobile = parse_mobile(text)
    digits = re.sub(r"\D", "", text)
    # A cell with a second number or a longer digit run would otherwise lose what parse_mobile skipped.
    if mobile is None or digits not in (mobile, "86" + mobile, "0086" + mobile):
        raise _Rejected("手机号无效", text)
    return mobile


def parse_plate_cell(value: object) -> str | None:
    text = _text(value)
    if not text:
        return None
    if not is_plate(text):
        raise _Rejected("车牌无效", text)
    return parse_plate(text)


def parse_vin_cell(value: object) -> str | None:
    text = re.sub(r"[\s\-]", "", _text(value)).upper()
    if not text:
        return None
    if not _VIN.fullmatch(text):
        raise _Rejected("VIN 无效", f"{_text(value)}（应为 17 位字母或数字，不含 I、O、Q）")
    return text


def parse_date_cell(value: object, today: date) -> date | None:
    """Excel dates, Excel day numbers, 2024-03-01, 2024/3/1, 2024.3.1, 2024年3月1日, 20240301."""
    day: date | None = None
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        day = value.date()
    elif isinstance(value, date):
        day = value
    else:
        text = _text(value)
        if not text:
            return None
        try:
            if m := _DATE.fullmatch(text) or _COMPACT_DATE.fullmatch(text):
                day = date(int(m[1]), int(m[2]), int(m[3]))
            elif text.isdigit() and int(text) in _SERIAL_RANGE:
                serial = from_excel(int(text))
                day = serial.date() if isinstance(serial, datetime) else None
        except ValueError:
            day = None
        if day is None:
            raise _Rejected("购车日期无效", text)
    if not EARLIEST_PURCHASE <= day <= today:
        raise _Rejected("购车日期无效", f"{day.isoformat()}（不在 {EARLIEST_PURCHASE.year} 年到今天之间）")
    return day


def parse_mileage_cell(value: object) -> int | None:
    """Kilometres: 32000, 32,000, 3.2万, 32000公里, 32000km."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        km = float(value)
    else:
        text = re.sub(r"[\s,，]", "", _text(value))
        if not text:
            return None
        m = _MILEAGE.fullmatch(text)
        if m is None:
            raise _Rejected("里程无效", _text(value))
        km = float(m[1]) * (10_000 if m[2] else 1)
    if not 0 <= km <= MILEAGE_MAX:
        raise _Rejected("里程无效", _text(value))
    return round(km)


def _limited(value: object, limit: int, label: str) -> str:
    text = re.sub(r"\s+", " ", _text(value))
    if len(text) > limit:
        raise _Rejected(f"{label}过长", f"{text[:limit]}…（最多 {limit} 个字）")
    return text


class StaffDirectory:
    """Active staff by employee number and by name, to resolve 负责顾问 and to label owners on export."""

    def __init__(self, staff: Iterable[Staff]) -> None:
        self._by_no: dict[str, Staff] = {}
        self._by_name: dict[str, list[Staff]] = {}
        self._by_id: dict[int, Staff] = {}
        for person in staff:
            self._by_id[person.id] = person
            self._by_name.setdefault(person.name, []).append(person)
            if person.employee_no:
                self._by_no[person.employee_no.casefold()] = person

    @classmethod
    async def load(cls) -> StaffDirectory:
        return cls(await Staff.filter(active=True).order_by("id"))

    def resolve(self, text: str) -> int:
        """The id of the active staff member with this employee number or name; _Rejected otherwise."""
        if person := self._by_no.get(text.casefold()):
            return person.id
        named = self._by_name.get(text, [])
        if len(named) > 1:
            raise _Rejected("负责顾问重名", f"{text}（有 {len(named)} 位同名员工，请填工号）")
        if not named:
            raise _Rejected("负责顾问不存在或已停用", text)
        return named[0].id

    def label(self, staff_id: int | None) -> str:
        """How an owner is written in an export: the name, or the employee number when the name is shared.

        An owner who has left (not active) is written blank: a re-import then keeps the owner as it is."""
        person = self._by_id.get(staff_id) if staff_id is not None else None
        if person is None:
            return ""
        if len(self._by_name[person.name]) > 1 and person.employee_no:
            return person.employee_no
        return person.name


@dataclass(slots=True)
class Row:
    """One data row, validated: every value in its stored form; None (or "") where the cell was blank."""

    number: int
    cells: tuple[str, ...]
    name: str
    mobile: str
    plate: str | None
    model: str
    vin: str | None
    purchase_date: date | None
    mileage: int | None
    owner_id: int | None


def parse_row(number: int, cells: tuple[object, ...], header: HeaderMap, staff: StaffDirectory, today: date) -> Row:
    """Validate one data row; raises _Rejected naming every problem in it, so one fix-up pass is enough."""
    errors: list[_Rejected] = []

    def cell(name: str) -> object:
        column = header.columns.get(name)
        return cells[column] if column is not None and column < len(cells) else None

    def check(parse: Callable[[object], Any], name: str) -> Any:
        try:
            return parse(cell(name))
        except _Rejected as error:
            errors.append(error)
            return None

    owner = _text(cell("owner"))
    row = Row(
        number=number,
        cells=tuple(_text(c) for c in cells),
        name=check(lambda v: _limited(v, NAME_MAX, "姓名"), "name") or "",
        mobile=check(parse_mobile_cell, "mobile") or "",
        plate=check(parse_plate_cell, "plate"),
        model=check(lambda v: _limited(v, MODEL_MAX, "车型"), "model") or "",
        vin=check(parse_vin_cell, "vin"),
        purchase_date=check(lambda v: parse_date_cell(v, today), "purchase_date"),
        mileage=check(parse_mileage_cell, "mileage"),
        owner_id=check(lambda _: staff.resolve(owner), "owner") if owner else None,
    )
    vehicle_data = row.model or row.vin or row.purchase_date or row.mileage is not None
    if _text(cell("plate")) == "" and vehicle_data:
        errors.append(_Rejected("有车辆信息但没有车牌"))
    if errors:
        raise _Rejected.all_of(errors)
    return row


# ---------------------------------------------------------------------------------------------- writing


class RejectWriter:
    """The rejects report: 行号, 原因, then the file's own columns, as UTF-8 with a BOM (opens in Excel)."""

    def __init__(self, out: TextIO, titles: Sequence[str]) -> None:
        self._writer = csv.writer(out)
        self._writer.writerow(["行号", "原因", *titles])
        self.count = 0

    def write(self, reject: Reject) -> None:
        self._writer.writerow([reject.row, reject.reason, *reject.cells])
        self.count += 1


async def _insert(
    table: str, columns: Sequence[str], rows: Sequence[Sequence[object]], key: str = ""
) -> dict[Any, int]:
    """One multi-row INSERT of `rows` (values already in database form); with `key` (a unique column), the
    new ids by that column's value. Plain tuples, not model instances: building ORM objects cost more than
    the database did."""
    p = placeholder()
    width = len(columns)
    groups = ["(" + ", ".join(f"{p}{i * width + j}" for j in range(1, width + 1)) + ")" for i in range(len(rows))]
    names = ", ".join(f'"{c}"' for c in columns)
    sql = f'INSERT INTO "{table}" ({names}) VALUES {", ".join(groups)}'
    values = [value for row in rows for value in row]
    conn = connections.get("default")
    if not key:
        await conn.execute_query(sql, values)
        return {}
    # RETURNING's row order is not guaranteed, so the rows are matched back by their unique key.
    found = await conn.execute_query_dict(f'{sql} RETURNING "id", "{key}"', values)
    return {row[key]: row["id"] for row in found}


@dataclass(slots=True, eq=False)
class _NewCustomer:
    """A customer this batch creates; `id` is set once the batch is written."""

    name: str
    mobile: str
    owner_id: int | None
    id: int | None = None


@dataclass(slots=True, eq=False)
class _NewVehicle:
    owner: Customer | _NewCustomer
    plate: str
    model: str | None
    vin: str | None
    purchase_date: date | None
    mileage: int | None
    id: int | None = None


@dataclass
class _Batch:
    """The writes decided for one batch of rows, made in one transaction."""

    customers: list[_NewCustomer] = field(default_factory=list)
    vehicles: list[_NewVehicle] = field(default_factory=list)
    readings: list[tuple[Vehicle | _NewVehicle, int]] = field(default_factory=list)
    owner_changes: list[tuple[Customer | _NewCustomer, int | None, int]] = field(default_factory=list)
    changed_customers: dict[int, tuple[Customer, set[str]]] = field(default_factory=dict)
    changed_vehicles: dict[int, tuple[Vehicle, set[str]]] = field(default_factory=dict)

    def change(self, target: Customer | Vehicle, **values: object) -> None:
        book: dict[int, Any] = self.changed_customers if isinstance(target, Customer) else self.changed_vehicles
        _, fields_ = book.setdefault(id(target), (target, set()))
        for name, value in values.items():
            setattr(target, name, value)
            fields_.add(name)

    async def write(self, now: datetime) -> None:
        fields_map = Vehicle._meta.fields_map
        at = fields_map["created_at"].to_db_value(now, Vehicle)
        day = fields_map["purchase_date"].to_db_value
        if self.customers:
            ids = await _insert(
                "customer",
                ("name", "mobile", "mobile_rev", "owner_id", "source", "note", "created_at", "updated_at"),
                [
                    (c.name, c.mobile, reverse(c.mobile), c.owner_id, CustomerSource.IMPORT.value, "", at, at)
                    for c in self.customers
                ],
                key="mobile",
            )
            for c in self.customers:
                c.id = ids[c.mobile]
        if self.vehicles:
            ids = await _insert(
                "vehicle",
                (
                    "customer_id",
                    "plate",
                    "plate_rev",
                    "model",
                    "vin",
                    "purchase_date",
                    "mileage",
                    "mileage_at",
                    "created_at",
                ),
                [
                    (
                        v.owner.id,
                        v.plate,
                        reverse(v.plate),
                        v.model,
                        v.vin,
                        day(v.purchase_date, Vehicle),
                        v.mileage,
                        at if v.mileage is not None else None,
                        at,
                    )
                    for v in self.vehicles
                ],
                key="plate",
            )
            for v in self.vehicles:
                v.id = ids[v.plate]
        for customer, fields_ in self.changed_customers.values():
            await customer.save(update_fields=sorted(fields_))
        for vehicle, fields_ in self.changed_vehicles.values():
            await vehicle.save(update_fields=sorted(fields_))
        if self.readings:
            await _insert(
                "mileage_reading",
                ("vehicle_id", "km", "at", "source"),
                [(v.id, km, at, READING_SOURCE) for v, km in self.readings],
            )
        if self.owner_changes:
            await _insert(
                "owner_change",
                ("customer_id", "from_staff_id", "to_staff_id", "reason", "at"),
                [(c.id, old, new, OWNER_REASON, at) for c, old, new in self.owner_changes],
            )


@dataclass
class _Seen:
    """What earlier rows of this file said about a customer, to catch rows that contradict each other."""

    row: int
    name: str
    owner_id: int | None


class CustomerImport:
    """One run of an import, fed a batch of rows at a time; it keeps what spans batches (rows seen, customers made)."""

    def __init__(
        self,
        header: HeaderMap,
        staff: StaffDirectory,
        *,
        update: bool,
        now: datetime,
        tz: ZoneInfo,
        rejects: RejectWriter,
        keep_rejects: int = 10,
    ) -> None:
        self.header = header
        self.staff = staff
        self.update = update
        self.now = now.astimezone(UTC)
        self.today = now.astimezone(tz).date()
        self.rejects = rejects
        self.keep_rejects = keep_rejects
        self.summary = ImportSummary(ignored_columns=header.ignored)
        self._plates: dict[str, int] = {}
        self._vins: dict[str, int] = {}
        # Customers already met in this file, keyed by ("id", pk) for records or ("new", mobile) for new ones.
        self._customers: dict[tuple[str, object], _Seen] = {}
        # Customers this run created (mobile -> pk): later rows for them add cars instead of counting as duplicates.
        self._created: dict[str, int] = {}

    def _reject(self, number: int, cells: tuple[str, ...], error: _Rejected) -> None:
        reject = Reject(number, error.kinds, error.reason, cells)
        self.rejects.write(reject)
        self.summary.reject_kinds.update(error.kinds)
        self.summary.outcomes[Outcome.REJECTED] += 1
        if len(self.summary.first_rejects) < self.keep_rejects:
            self.summary.first_rejects.append(reject)

    async def feed(self, raw: Sequence[tuple[int, tuple[object, ...]]]) -> None:
        """Validate, match and write one batch of rows (one transaction)."""
        rows: list[Row] = []
        for number, cells in raw:
            if all(c is None or _text(c) == "" for c in cells):
                continue  # a blank line in the sheet, not a record
            self.summary.rows += 1
            try:
                rows.append(parse_row(number, cells, self.header, self.staff, self.today))
            except _Rejected as error:
                self._reject(number, tuple(_text(c) for c in cells), error)
        if not rows:
            return
        lookup = await _Lookup.load(rows)
        batch = _Batch()
        for row in rows:
            try:
                outcome = self._decide(row, lookup, batch)
            except _Rejected as error:
                self._reject(row.number, row.cells, error)
                continue
            self.summary.outcomes[outcome] += 1
        if batch.customers or batch.vehicles or batch.changed_customers or batch.changed_vehicles:
            async with in_transaction():
                await batch.write(self.now)
        for customer in batch.customers:
            assert customer.id is not None
            self._created[customer.mobile] = customer.id
        self.summary.customers_created += len(batch.customers)
        self.summary.vehicles_created += len(batch.vehicles)

    def _check_in_file(self, row: Row, key: tuple[str, object]) -> None:
        """Reject a row that repeats or contradicts an earlier row of the file."""
        if row.plate and (first := self._plates.get(row.plate)):
            raise _Rejected("与前面的行重复", f"车牌 {row.plate} 已在第 {first} 行")
        if row.vin and (first := self._vins.get(row.vin)):
            raise _Rejected("与前面的行重复", f"VIN {row.vin} 已在第 {first} 行")
        seen = self._customers.get(key)
        if seen is None:
            return
        if row.name and seen.name and row.name != seen.name:
            raise _Rejected("与前面的行矛盾", f"与第 {seen.row} 行是同一客户，但姓名不同（{seen.name}）")
        if row.owner_id is not None and seen.owner_id is not None and row.owner_id != seen.owner_id:
            raise _Rejected("与前面的行矛盾", f"与第 {seen.row} 行是同一客户，但负责顾问不同")
        if row.plate is None:
            raise _Rejected("与前面的行重复", f"与第 {seen.row} 行是同一客户，且没有新的车辆")

    def _remember(self, row: Row, key: tuple[str, object]) -> None:
        if row.plate:
            self._plates[row.plate] = row.number
        if row.vin:
            self._vins[row.vin] = row.number
        seen = self._customers.setdefault(key, _Seen(row.number, row.name, row.owner_id))
        seen.name = seen.name or row.name
        seen.owner_id = seen.owner_id if seen.owner_id is not None else row.owner_id

    def _decide(self, row: Row, lookup: _Lookup, batch: _Batch) -> Outcome:
        target, created_here = lookup.match(row, self._created)
        # Customers this run creates are known by mobile (they have no pk until their batch is written).
        key: tuple[str, object] = ("new", row.mobile) if target is None or created_here else ("id", target.id)
        self._check_in_file(row, key)
        vehicle = lookup.plates.get(row.plate) if row.plate else None
        if vehicle is not None and (target is None or vehicle.customer_id != target.id):
            raise _Rejected("车牌已登记在其他客户名下", f"{row.plate}（C{vehicle.customer_id}）")
        same_vin = lookup.vins.get(row.vin) if row.vin else None
        if same_vin is not None and same_vin is not vehicle:
            raise _Rejected("VIN 已登记在其他车辆上", f"{row.vin}（车牌 {same_vin.plate}）")
        if target is None:
            if not row.name:
                raise _Rejected("姓名为空")
            self._create_customer(row, lookup, batch)
            outcome = Outcome.CREATED
        elif created_here or isinstance(target, _NewCustomer):
            self._add_vehicle(target, row, batch)
            outcome = Outcome.CREATED
        else:
            outcome = self._update(target, vehicle, row, lookup, batch)
        self._remember(row, key)
        return outcome

    def _create_customer(self, row: Row, lookup: _Lookup, batch: _Batch) -> None:
        customer = _NewCustomer(row.name, row.mobile, row.owner_id)
        batch.customers.append(customer)
        lookup.new[row.mobile] = customer
        if row.owner_id is not None:
            batch.owner_changes.append((customer, None, row.owner_id))
        if row.plate:
            self._add_vehicle(customer, row, batch)

    def _add_vehicle(self, customer: Customer | _NewCustomer, row: Row, batch: _Batch) -> None:
        assert row.plate is not None
        vehicle = _NewVehicle(customer, row.plate, row.model or None, row.vin, row.purchase_date, row.mileage)
        batch.vehicles.append(vehicle)
        if row.mileage is not None:
            batch.readings.append((vehicle, row.mileage))

    def _update(self, customer: Customer, vehicle: Vehicle | None, row: Row, lookup: _Lookup, batch: _Batch) -> Outcome:
        """Compare the row with the record; apply the differences when updating (else report them skipped)."""
        own: dict[str, object] = {}
        if row.name and row.name != customer.name:
            own["name"] = row.name
        if row.mobile != customer.mobile:
            own["mobile"] = row.mobile
        if row.owner_id is not None and row.owner_id != customer.owner_id:
            own["owner_id"] = row.owner_id
        car: dict[str, object] = {}
        if vehicle is not None:
            for name, value in (("model", row.model or None), ("vin", row.vin), ("purchase_date", row.purchase_date)):
                if value is not None and value != getattr(vehicle, name):
                    car[name] = value
            if row.mileage is not None and row.mileage != vehicle.mileage:
                if self.update and vehicle.mileage is not None and row.mileage < vehicle.mileage:
                    raise _Rejected("里程低于系统记录", f"{row.mileage} 公里，系统中为 {vehicle.mileage} 公里")
                car.update(mileage=row.mileage, mileage_at=self.now)
        new_car = row.plate is not None and vehicle is None
        if not (own or car or new_car):
            return Outcome.UNCHANGED
        if not self.update:
            return Outcome.SKIPPED
        if row.owner_id is not None and "owner_id" in own:
            batch.owner_changes.append((customer, customer.owner_id, row.owner_id))
        if "mobile" in own:
            lookup.moved(customer, row.mobile)
        batch.change(customer, updated_at=self.now, **own)
        if vehicle is not None and car:
            batch.change(vehicle, **car)
            if row.mileage is not None and "mileage" in car:
                batch.readings.append((vehicle, row.mileage))
        if new_car:
            self._add_vehicle(customer, row, batch)
        return Outcome.UPDATED


@dataclass
class _Lookup:
    """The records one batch of rows can touch, fetched with one query per key kind."""

    by_mobile: dict[str, list[Customer]]
    by_id: dict[int, Customer]
    plates: dict[str, Vehicle]
    vins: dict[str, Vehicle]
    # Customers created by earlier rows of this batch (not yet written), by mobile.
    new: dict[str, _NewCustomer] = field(default_factory=dict)

    @classmethod
    async def load(cls, rows: Sequence[Row]) -> _Lookup:
        mobiles = {r.mobile for r in rows}
        plates = {r.plate for r in rows if r.plate}
        vins = {r.vin for r in rows if r.vin}
        by_plate = {v.plate: v for v in await Vehicle.filter(plate__in=plates)} if plates else {}
        by_vin = {v.vin or "": v for v in await Vehicle.filter(vin__in=vins)} if vins else {}
        for v in by_vin.values():
            # The same car found by plate and by VIN is one object, so "is this the same vehicle" is `is`.
            by_vin[v.vin or ""] = by_plate.get(v.plate, v)
        customers = await Customer.filter(mobile__in=mobiles).order_by("created_at", "id")
        by_id = {c.id: c for c in customers}
        missing = {v.customer_id for v in by_plate.values()} - by_id.keys()
        if missing:
            by_id.update({c.id: c for c in await Customer.filter(id__in=missing)})
        by_mobile: dict[str, list[Customer]] = {}
        for c in customers:
            by_mobile.setdefault(c.mobile or "", []).append(c)
        return cls(by_mobile, by_id, by_plate, by_vin)

    def match(self, row: Row, created: dict[str, int]) -> tuple[Customer | _NewCustomer | None, bool]:
        """The customer this row is about, and whether this run created it.

        By mobile first (the record holding the row's plate among several with that mobile, else the oldest),
        then by plate (the same car under an old mobile)."""
        if (pending := self.new.get(row.mobile)) is not None:
            return pending, True
        if (pk := created.get(row.mobile)) is not None and pk in self.by_id:
            return self.by_id[pk], True
        vehicle = self.plates.get(row.plate) if row.plate else None
        candidates = self.by_mobile.get(row.mobile, [])
        if vehicle is not None:
            owner = self.by_id.get(vehicle.customer_id)
            if owner is not None and (owner in candidates or not candidates):
                return owner, False
        if candidates:
            return candidates[0], False
        return None, False

    def moved(self, customer: Customer, mobile: str) -> None:
        """The customer's mobile changes to `mobile`: later rows of the batch find them under it."""
        old = self.by_mobile.get(customer.mobile or "", [])
        if customer in old:
            old.remove(customer)
        self.by_mobile.setdefault(mobile, []).insert(0, customer)


async def import_table(
    table: Table,
    *,
    update: bool,
    now: datetime,
    tz: ZoneInfo,
    rejects: TextIO,
    progress: Callable[[int], None] = lambda n: None,
    batch_size: int = BATCH_SIZE,
) -> ImportSummary:
    """Import every data row of `table`; rejected rows go to `rejects` as CSV. `progress(n)` after each batch.

    With `update`, a row matching an existing customer (by mobile, else by plate) overwrites the fields it
    gives; otherwise such a row is left alone (skipped, or unchanged when it says nothing new). An owner
    set or changed is logged as an OwnerChange with reason 导入; a mileage as a MileageReading."""
    header = map_header(table.header)
    run = CustomerImport(
        header,
        await StaffDirectory.load(),
        update=update,
        now=now,
        tz=tz,
        rejects=RejectWriter(rejects, header.titles),
    )
    chunk: list[tuple[int, tuple[object, ...]]] = []
    for item in table.rows:
        chunk.append(item)
        if len(chunk) >= batch_size:
            await run.feed(chunk)
            progress(len(chunk))
            chunk = []
    if chunk:
        await run.feed(chunk)
        progress(len(chunk))
    return run.summary


# ---------------------------------------------------------------------------------------------- export


async def export_customers(path: Path, progress: Callable[[int], None] = lambda n: None) -> int:
    """Write every customer to `path` (.xlsx, streamed), one row per vehicle; returns the rows written.

    The headers are the import's, so an exported file imports back as a no-op."""
    staff = await StaffDirectory.load()
    book = Workbook(write_only=True)
    sheet = book.create_sheet("客户")
    sheet.append([HEADERS[f] for f in FIELDS])
    written = 0
    last_id = 0
    while True:
        # Keyset paging: memory stays flat however many customers there are.
        customers = await Customer.filter(id__gt=last_id).order_by("id").limit(BATCH_SIZE)
        if not customers:
            break
        last_id = customers[-1].id
        cars: dict[int, list[Vehicle]] = {}
        for vehicle in await Vehicle.filter(customer_id__in=[c.id for c in customers]).order_by("created_at", "id"):
            cars.setdefault(vehicle.customer_id, []).append(vehicle)
        for customer in customers:
            owner = staff.label(customer.owner_id)
            for vehicle in cars.get(customer.id, []):
                sheet.append(_vehicle_row(sheet, customer, vehicle, owner))
            if customer.id not in cars:
                sheet.append([customer.name, customer.mobile, None, None, None, None, None, owner])
            written += len(cars.get(customer.id, ())) or 1
        progress(len(customers))
    book.save(path)
    return written


def _vehicle_row(sheet: Any, customer: Customer, vehicle: Vehicle, owner: str) -> list[object]:
    bought: object = None
    if vehicle.purchase_date is not None:
        # A real date cell (not text), so Excel sorts and filters it as a date.
        bought = WriteOnlyCell(sheet, value=datetime.combine(vehicle.purchase_date, time()))
        bought.number_format = "yyyy-mm-dd"
    return [customer.name, customer.mobile, vehicle.plate, vehicle.model, vehicle.vin, bought, vehicle.mileage, owner]
