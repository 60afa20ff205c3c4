"""The demo organization's world: its towns, unions, jobs and the mix of its contacts."""

from __future__ import annotations

from typing import Any, NamedTuple

# Who the demo rows say made them: consent events, audit entries, gifts and group adds.
ACTOR = "demo data"


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
    """One demo contact's row, tags, consent events, creation audit and related rows.

    The related rows (gifts, membership, recruit, stage moves) lack ``contact_id``: the
    database assigns it when the contact is written.
    """

    row: dict[str, Any]
    tags: list[str]
    events: list[dict[str, Any]]
    changes: dict[str, list[Any]]
    gifts: list[dict[str, Any]]
    membership: dict[str, Any] | None
    recruit: dict[str, Any] | None
    moves: list[dict[str, Any]]
    groups: list[str]


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

# Employer and worksite templates take the member's {city} and {county}. Locals are what the
# membership panel shows after "Local".
UNIONS = {
    "AFSCME": UnionShape(25, _split("60 | 171 | 48 | 1656"),
                         _split("City of {city} | {county} County"), _split("Streets | Library"),
                         _split("sanitation worker | librarian | custodian | bus driver")),
    "SEIU": UnionShape(20, _split("1199W | 1 | 150"), _split("{city} Memorial Hospital"),
                       _split("Emergency Department | Med-Surg 4 West | Home care route"),
                       _split("nurse | certified nursing assistant | janitor | home care worker")),
    "WEAC": UnionShape(25, _split("MTI | MTEA | GBEA"),
                       _split("{city} School District"), _split("East High | Lincoln Elementary"),
                       _split("teacher | school counselor | special education teacher")),
    "AFT": UnionShape(12, _split("3220 | 212 | 223"),
                      _split("University of Wisconsin | {city} Technical College"),
                      _split("Humanities Building | Downtown Campus"),
                      _split("lecturer | instructor | teaching assistant")),
    "UFCW": UnionShape(10, _split("1473"), _split("{city} Co-op | Badger Foods"),
                       _split("Store #12 | Store #31"), _split("grocery clerk | meatcutter")),
    "IBEW": UnionShape(8, _split("159 | 494 | 158 | 14"),
                       _split("{city} Electric | Lakeshore Electrical"), _split("Service Center"),
                       _split("electrician | lineworker | apprentice electrician")),
}
MEMBER_STATUSES = {"active": 84, "retired": 9, "lapsed": 7}
# Occupation and employer as a donation form collects them; {company} is a Faker company.
DONOR_JOBS = tuple(map(_split, (
    "retired | Retired", "software developer | {company}", "attorney | Self-employed",
    "social worker | {county} County", "nurse practitioner | {city} Clinic",
    "professor | University of Wisconsin", "farmer | Self-employed", "pharmacist | {company}",
    "small business owner | Self-employed", "pastor | {city} United Methodist Church")))
# Each value maps to its weight in random.choices. Gifts are in dollars: mostly small, with
# about one in a hundred of $500 or more.
GIFTS = {5: 28, 10: 44, 15: 16, 20: 16, 25: 40, 27: 12, 35: 10, 50: 22, 100: 10, 250: 2,
         500: 1, 750: 1, 1000: 1}
MONTHLY_GIFTS = {5: 4, 10: 6, 15: 3, 25: 4, 50: 1}
EMAIL_ASKS = ("chipin", "eoq", "match", "gotv", "budget", "endorse")
# Recruits anywhere in the pipeline; the elected are the officials, added on their own.
STAGES = {"prospect": 32, "contacted": 22, "interested": 17, "in_training": 11, "candidate": 8,
          "declined": 10}
# The stage a recruit had reached when they declined.
DECLINED_AFTER = {"prospect": 3, "contacted": 4, "interested": 3, "in_training": 1,
                  "candidate": 1}
DECLINE_NOTES = ("Not this cycle: new job.", "Family commitments; ask again in two years.",
                 "Backing another progressive in the race.", "Moved out of the district.")
TARGET_OFFICES = {"school_board": 30, "city_council": 22, "county_board": 22,
                  "state_house": 13, "state_senate": 6, "other": 7}
OFFICIAL_OFFICES = {"school_board": 4, "city_council": 4, "county_board": 4, "state_house": 2,
                    "state_senate": 1}
SCHOOL_DISTRICTS = {"Madison": "Madison Metropolitan School District",
                    "Milwaukee": "Milwaukee Public Schools",
                    "Green Bay": "Green Bay Area Public School District",
                    "Kenosha": "Kenosha Unified School District",
                    "Racine": "Racine Unified School District"}
OWNERS = ("organizer@example.org", "field.director@example.org", "madison.organizer@example.org",
          "milwaukee.organizer@example.org")
STATUSES = {"subscribed": 86, "unsubscribed": 5, "cleaned": 3, "pending": 3, "transactional": 3}
WORKING_GROUPS = {
    "Economic Security Working Group": "Wages, paid leave and the cost of living.",
    "Immigration Working Group": "Driver's licenses for all and welcoming communities.",
    "Tax Fairness Working Group": "Make the wealthy and corporations pay their share.",
    "Public Education Working Group": "Fund our public schools and cap voucher growth.",
    "Health Reform Working Group": "Medicaid expansion and BadgerCare for all.",
    "Election Reform Working Group": "Fair maps and voting access.",
}
STEERING = "Steering Committee"
GROUPS = {**WORKING_GROUPS, STEERING: "Sets the organization's priorities between conventions."}
EVENTS = ("event:2024-09-laborfest", "event:2025-02-lobby-day", "event:2025-06-town-hall",
          "event:2025-10-canvass-kickoff", "event:2026-05-rally", "event:2026-09-laborfest")
TAGS = ("union-member", "steward", "donor", "monthly-donor", "recruit", "elected-official",
        "volunteer", *EVENTS)
SOURCES = ("website signup", "2025 rally sign-in", "petition: fund our schools", "door knock",
           "2024 Laborfest sign-in", "phone bank", "Facebook lead ad")
EXIT_NOTES = {"unsubscribed": "Unsubscribed from a campaign email.",
              "cleaned": "Hard bounce reported by Mailchimp."}
STREETS = _split("Williamson St | Atwood Ave | Monroe St | University Ave | Johnson St | Park St"
                 " | Oakland Ave | National Ave | Vliet St | Center St | Lincoln Ave | Main St"
                 " | Mitchell St | Washington Ave | Oak St | Lake St | Mineral Point Rd")
# Custom fields for what has no table of its own.
LANGUAGES = {"Spanish": 5, "Hmong": 1, "Somali": 1}
SHIRT_SIZES = ("S", "M", "L", "XL", "2XL")
# Faker's en_US names miss two things a Wisconsin list has plenty of.
WI_SURNAMES = ("Schultz", "Kowalski", "Olson", "Nelson", "Schmitz", "Wojcik", "Krueger",
               "Hanson", "Zielinski", "Larson", "Weber", "Nowak", "Halverson", "Mueller")
HMONG_GIVEN = ("Pa", "Mai", "Kou", "Tou", "Nou", "Chue", "Yer", "Pao", "Ka", "Neng")
HMONG_SURNAMES = ("Vang", "Xiong", "Yang", "Thao", "Lor", "Moua", "Her", "Vue", "Lee", "Khang")
# Reserved example domains: a demo list synced to Mailchimp can never email a real person.
DOMAINS = ("example.com", "example.org", "example.net")
# What people type when a form makes them give an address they will not share.
PLACEHOLDERS = ("test", "asdf", "noreply", "fake")
