"""The instruments a new install knows without a broker: NIFTY 50 stocks and two indices.

Reference prices (INR, approximate late-2026 levels) seed the simulated feed, the paper
broker and the local Kite sandbox; the instruments table is filled from here on first start
and replaced by a broker's instruments master when one is downloaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class ListedInstrument:
    symbol: str
    name: str
    token: int  # a Kite-style instrument_token: (exchange_token << 8) | segment
    ref_price: Decimal
    instrument_type: str = "EQ"
    exchange: str = "NSE"
    tick_size: Decimal = Decimal("0.05")
    lot_size: int = 1


_NSE_SEGMENT = 1  # Kite's segment id for NSE cash


def _eq(exchange_token: int, symbol: str, name: str, price: str) -> ListedInstrument:
    return ListedInstrument(symbol, name, (exchange_token << 8) | _NSE_SEGMENT, Decimal(price))


NIFTY_50: tuple[ListedInstrument, ...] = (
    _eq(1594, "INFY", "INFOSYS", "1520.40"),
    _eq(11536, "TCS", "TATA CONSULTANCY SERV", "3410.25"),
    _eq(2885, "RELIANCE", "RELIANCE INDUSTRIES", "1495.60"),
    _eq(1333, "HDFCBANK", "HDFC BANK", "1002.35"),
    _eq(4963, "ICICIBANK", "ICICI BANK", "1385.90"),
    _eq(1660, "ITC", "ITC", "405.15"),
    _eq(3045, "SBIN", "STATE BANK OF INDIA", "955.70"),
    _eq(10604, "BHARTIARTL", "BHARTI AIRTEL", "2085.30"),
    _eq(1922, "KOTAKBANK", "KOTAK MAHINDRA BANK", "2120.45"),
    _eq(11483, "LT", "LARSEN & TOUBRO", "3980.00"),
    _eq(5900, "AXISBANK", "AXIS BANK", "1225.80"),
    _eq(1394, "HINDUNILVR", "HINDUSTAN UNILEVER", "2440.10"),
    _eq(317, "BAJFINANCE", "BAJAJ FINANCE", "1032.55"),
    _eq(16675, "BAJAJFINSV", "BAJAJ FINSERV", "2050.20"),
    _eq(236, "ASIANPAINT", "ASIAN PAINTS", "2890.65"),
    _eq(10999, "MARUTI", "MARUTI SUZUKI INDIA", "15850.00"),
    _eq(7229, "HCLTECH", "HCL TECHNOLOGIES", "1610.35"),
    _eq(3506, "TITAN", "TITAN COMPANY", "3745.90"),
    _eq(3351, "SUNPHARMA", "SUN PHARMACEUTICAL", "1745.25"),
    _eq(11532, "ULTRACEMCO", "ULTRATECH CEMENT", "11920.00"),
    _eq(3499, "TATASTEEL", "TATA STEEL", "172.45"),
    _eq(2475, "ONGC", "OIL & NATURAL GAS CORP", "248.60"),
    _eq(11630, "NTPC", "NTPC", "338.15"),
    _eq(14977, "POWERGRID", "POWER GRID CORP", "287.40"),
    _eq(3432, "TMPV", "TATA MOTORS PASSENGER VEHICLES", "410.75"),
    _eq(3787, "WIPRO", "WIPRO", "248.30"),
    _eq(13538, "TECHM", "TECH MAHINDRA", "1455.55"),
    _eq(2031, "M&M", "MAHINDRA & MAHINDRA", "3650.20"),
    _eq(17963, "NESTLEIND", "NESTLE INDIA", "1265.40"),
    _eq(3063, "ADANIENT", "ADANI ENTERPRISES", "2410.85"),
    _eq(15083, "ADANIPORTS", "ADANI PORTS & SEZ", "1485.30"),
    _eq(20374, "COALINDIA", "COAL INDIA", "385.90"),
    _eq(1232, "GRASIM", "GRASIM INDUSTRIES", "2780.45"),
    _eq(526, "BEL", "BHARAT ELECTRONICS", "418.20"),
    _eq(881, "DRREDDY", "DR. REDDY'S LABORATORIES", "1275.60"),
    _eq(694, "CIPLA", "CIPLA", "1520.95"),
    _eq(910, "EICHERMOT", "EICHER MOTORS", "6980.00"),
    _eq(3456, "TATACONSUM", "TATA CONSUMER PRODUCTS", "1165.35"),
    _eq(467, "HDFCLIFE", "HDFC LIFE INSURANCE", "765.80"),
    _eq(21808, "SBILIFE", "SBI LIFE INSURANCE", "1980.25"),
    _eq(16669, "BAJAJ-AUTO", "BAJAJ AUTO", "9050.00"),
    _eq(1348, "HEROMOTOCO", "HERO MOTOCORP", "5620.40"),
    _eq(157, "APOLLOHOSP", "APOLLO HOSPITALS", "7640.00"),
    _eq(5258, "INDUSINDBK", "INDUSIND BANK", "865.30"),
    _eq(1363, "HINDALCO", "HINDALCO INDUSTRIES", "815.65"),
    _eq(11723, "JSWSTEEL", "JSW STEEL", "1168.90"),
    _eq(5097, "ETERNAL", "ETERNAL", "312.45"),
    _eq(4306, "SHRIRAMFIN", "SHRIRAM FINANCE", "745.20"),
    _eq(2043, "TRENT", "TRENT", "4710.00"),
    _eq(10940, "DIVISLAB", "DIVI'S LABORATORIES", "6540.00"),
)

INDICES: tuple[ListedInstrument, ...] = (
    ListedInstrument("NIFTY 50", "NIFTY 50", 256265, Decimal("26050.00"), "INDEX",
                     tick_size=Decimal("0.05")),
    ListedInstrument("NIFTY BANK", "NIFTY BANK", 260105, Decimal("59200.00"), "INDEX",
                     tick_size=Decimal("0.05")),
)

ALL_INSTRUMENTS: tuple[ListedInstrument, ...] = NIFTY_50 + INDICES
BY_SYMBOL: dict[str, ListedInstrument] = {i.symbol: i for i in ALL_INSTRUMENTS}
BY_TOKEN: dict[int, ListedInstrument] = {i.token: i for i in ALL_INSTRUMENTS}
