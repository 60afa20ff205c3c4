"""The demo organization's world: its towns, unions, jobs and the mix of its contacts."""

from __future__ import annotations

from typing import Any, NamedTuple


class Place(NamedTuple):
    """A town contacts live in, with its real county, ZIP codes and area codes."""

    city: str
    county: str
    state: str
    zips: tuple[str, ...]
    area_codes: tuple[str, ...]
    weight: int


class UnionShape(NamedTuple):
    """How one union's members look: locals, employers, worksites and jobs."""

    weight: int
    locals: tuple[str, ...]
    employers: tuple[str, ...]
    worksites: tuple[str, ...]
    occupations: tuple[str, ...]


class Person(NamedTuple):
    """One demo contact's row, tag names, consent events and creation audit."""

    row: dict[str, Any]
    tags: list[str]
    events: list[dict[str, Any]]
    changes: dict[str, list[Any]]


def _split(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split("|"))


# City | county | state | ZIP codes | area codes, overlays included | share of the list
PLACES = tuple(Place(city, county, state, tuple(zips.split()), tuple(codes.split()), int(weight))
               for city, county, state, zips, codes, weight in map(_split, """
Madison | Dane | WI | 53703 53704 53705 53711 53713 53714 53715 53716 53717 53719 | 608 353 | 24
Middleton | Dane | WI | 53562 | 608 | 2
Milwaukee | Milwaukee | WI | 53202 53204 53206 53208 53210 53212 53215 53216 53218 | 414 | 24
Wauwatosa | Milwaukee | WI | 53213 53226 | 414 | 3
Green Bay | Brown | WI | 54301 54302 54303 54304 54311 54313 | 920 274 | 7
Eau Claire | Eau Claire | WI | 54701 54703 | 715 534 | 5
Appleton | Outagamie | WI | 54911 54914 54915 | 920 274 | 4
Oshkosh | Winnebago | WI | 54901 54902 54904 | 920 | 3
Kenosha | Kenosha | WI | 53140 53142 53143 53144 | 262 | 3
Racine | Racine | WI | 53402 53403 53404 53405 | 262 | 3
Waukesha | Waukesha | WI | 53186 53188 53189 | 262 | 3
La Crosse | La Crosse | WI | 54601 54603 | 608 | 3
Wausau | Marathon | WI | 54401 54403 | 715 534 | 2
Janesville | Rock | WI | 53545 53546 53548 | 608 | 2
Sheboygan | Sheboygan | WI | 53081 53083 | 920 | 2
Stevens Point | Portage | WI | 54481 | 715 | 2
Superior | Douglas | WI | 54880 | 715 | 1
Minneapolis | Hennepin | MN | 55406 55407 55408 | 612 | 1
Saint Paul | Ramsey | MN | 55104 55105 | 651 | 1
Duluth | St. Louis | MN | 55805 55812 | 218 | 1
Chicago | Cook | IL | 60614 60618 60622 | 773 312 | 2
Marquette | Marquette | MI | 49855 | 906 | 1
""".strip().splitlines()))
WI_PLACES = tuple(place for place in PLACES if place.state == "WI")

# Employer and worksite templates take the member's {city} and {county}.
UNIONS = {
    "AFSCME": UnionShape(25, _split("Local 60 | Local 171 | Local 48 | Local 1656"),
                         _split("City of {city} | {county} County"), _split("Streets | Library"),
                         _split("sanitation worker | librarian | custodian | bus driver")),
    "SEIU": UnionShape(20, _split("SEIU Wisconsin | Local 1"), _split("{city} Memorial Hospital"),
                       _split("Emergency Department | Med-Surg 4 West | Home care route"),
                       _split("nurse | certified nursing assistant | janitor | home care worker")),
    "WEAC": UnionShape(25, _split("Madison Teachers Inc. | MTEA | Green Bay Education Association"),
                       _split("{city} School District"), _split("East High | Lincoln Elementary"),
                       _split("teacher | school counselor | special education teacher")),
    "AFT": UnionShape(12, _split("Local 3220 | Local 212 | Local 223"),
                      _split("University of Wisconsin | {city} Technical College"),
                      _split("Humanities Building | Downtown Campus"),
                      _split("lecturer | instructor | teaching assistant")),
    "UFCW": UnionShape(10, _split("Local 1473"), _split("{city} Co-op | Badger Foods"),
                       _split("Store #12 | Store #31"), _split("grocery clerk | meatcutter")),
    "IBEW": UnionShape(8, _split("Local 159 | Local 494 | Local 158 | Local 14"),
                       _split("{city} Electric | Lakeshore Electrical"), _split("Service Center"),
                       _split("electrician | lineworker | apprentice electrician")),
}
# Occupation and employer as a donation form collects them; {company} is a Faker company.
DONOR_JOBS = tuple(map(_split, (
    "retired | Retired", "software developer | {company}", "attorney | Self-employed",
    "social worker | {county} County", "nurse practitioner | {city} Clinic",
    "professor | University of Wisconsin", "farmer | Self-employed", "pharmacist | {company}",
    "small business owner | Self-employed", "pastor | {city} United Methodist Church")))
# Each value maps to its weight in random.choices.
GIFTS = {5: 14, 10: 22, 15: 8, 20: 8, 25: 20, 27: 6, 35: 5, 50: 11, 100: 5, 250: 1}
STAGES = {"prospect": 30, "contacted": 22, "interested": 18, "in_training": 12, "candidate": 8,
          "elected": 4, "declined": 6}
STATUSES = {"subscribed": 86, "unsubscribed": 5, "cleaned": 3, "pending": 3, "transactional": 3}
TARGET_OFFICES = ("school board", "city council", "county board", "state house", "state senate")
WORKING_GROUPS = ("wg:economic-security", "wg:immigration", "wg:tax-fairness",
                  "wg:public-education", "wg:health-reform", "wg:election-reform")
EVENTS = ("event:2024-09-laborfest", "event:2025-02-lobby-day", "event:2025-06-town-hall",
          "event:2025-10-canvass-kickoff", "event:2026-05-rally", "event:2026-09-laborfest")
TAGS = ("union-member", "steward", "donor", "monthly-donor", "recruit", "elected-official",
        "volunteer", *WORKING_GROUPS, *EVENTS)
SOURCES = ("website signup", "2025 rally sign-in", "petition: fund our schools", "door knock",
           "2024 Laborfest sign-in", "phone bank", "Facebook lead ad")
EXIT_NOTES = {"unsubscribed": "Unsubscribed from a campaign email.",
              "cleaned": "Hard bounce reported by Mailchimp."}
STREETS = _split("Williamson St | Atwood Ave | Monroe St | University Ave | Johnson St | Park St"
                 " | Oakland Ave | National Ave | Vliet St | Center St | Lincoln Ave | Main St"
                 " | Mitchell St | Washington Ave | Oak St | Lake St | Mineral Point Rd")
# Faker's en_US names miss two things a Wisconsin list has plenty of.
WI_SURNAMES = ("Schultz", "Kowalski", "Olson", "Nelson", "Schmitz", "Wojcik", "Krueger",
               "Hanson", "Zielinski", "Larson", "Weber", "Nowak", "Halverson", "Mueller")
HMONG_GIVEN = ("Pa", "Mai", "Kou", "Tou", "Nou", "Chue", "Yer", "Pao", "Ka", "Neng")
HMONG_SURNAMES = ("Vang", "Xiong", "Yang", "Thao", "Lor", "Moua", "Her", "Vue", "Lee", "Khang")
# Reserved example domains: a demo list synced to Mailchimp can never email a real person.
DOMAINS = ("example.com", "example.org", "example.net")
