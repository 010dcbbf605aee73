"""data-standardization: canonical field names and values for a loosely typed record."""

import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agents.base import Answer, BaseAgent, LLMSession, rating_prompt

# Field-name spellings seen in the wild, by canonical name.
SYNONYMS = {
    "first_name": ("first_name", "firstname", "fname", "given_name", "forename"),
    "last_name": ("last_name", "lastname", "lname", "surname", "family_name"),
    "email": ("email", "e_mail", "email_address", "mail"),
    "phone": ("phone", "phone_number", "telephone", "tel", "mobile"),
    "date_of_birth": ("date_of_birth", "dob", "birthdate", "birth_date", "birthday"),
    "country": ("country", "country_code", "nation"),
    "postal_code": ("postal_code", "postcode", "zip", "zip_code", "zipcode"),
    "city": ("city", "town"),
}
CANONICAL = {spelling: name for name, spellings in SYNONYMS.items() for spelling in spellings}
COUNTRIES = {
    "germany": "DE", "deutschland": "DE", "united states": "US", "usa": "US", "france": "FR",
    "united kingdom": "GB", "uk": "GB", "spain": "ES", "italy": "IT", "japan": "JP",
    "india": "IN", "brazil": "BR", "canada": "CA", "netherlands": "NL",
}  # fmt: skip
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%d.%m.%Y", "%d/%m/%Y", "%B %d, %Y", "%d %B %Y", "%b %d, %Y")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}\Z")

Scalar = str | int | float | bool | None


class StandardizationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    record: dict[str, Scalar] = Field(min_length=1, max_length=100)


def field_key(name: str) -> str:
    """`E-Mail Address` -> `e_mail_address`."""
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def standardize_value(field: str, value: str) -> str | None:
    """The canonical form of `value`, or None when it cannot be read as that field."""
    value = value.strip()
    if field == "email":
        email = value.lower()
        return email if EMAIL.match(email) else None
    if field == "phone":
        digits = re.sub(r"\D", "", value)
        return ("+" if value.startswith("+") else "") + digits if len(digits) >= 6 else None
    if field == "date_of_birth":
        for fmt in DATE_FORMATS:
            try:
                return datetime.strptime(value, fmt).date().isoformat()
            except ValueError:
                continue
        return None
    if field == "country":
        if len(value) == 2 and value.isalpha():
            return value.upper()
        return COUNTRIES.get(value.lower())
    if field == "postal_code":
        return value.upper() or None
    return " ".join(part.capitalize() for part in value.split()) or None  # names and cities


class DataStandardizationAgent(BaseAgent):
    name = "data-standardization"
    input_model = StandardizationRequest

    def process(self, request: StandardizationRequest, llm: LLMSession) -> Answer:
        """Map field names to canonical ones and normalise their values."""
        record: dict[str, Scalar] = {}
        unrecognised: list[str] = []
        for raw_name, raw_value in request.record.items():
            field = CANONICAL.get(field_key(raw_name))
            value = standardize_value(field, str(raw_value)) if field and raw_value is not None else None
            if field is None or value is None:
                unrecognised.append(raw_name)
                record[field_key(raw_name) or raw_name] = raw_value
            else:
                record[field] = value
        recognised_share = 1 - len(unrecognised) / len(request.record)
        reply = llm.ask(rating_prompt(self.name), f"input: {request.record}\nstandardized: {record}")
        output: dict[str, Any] = {
            "record": record,
            "unrecognised_fields": unrecognised,
            "review": reply.answer,
        }
        # The agent cannot be surer than the share of fields it understood allows.
        return Answer(output, min(reply.confidence, 0.5 + 0.5 * recognised_share))
