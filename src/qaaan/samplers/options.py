"""How a sampler declares its options: one pydantic model per sampler class.

    class GibbsSampler(Sampler):
        class Options(SamplerOptions):
            sweeps: int = Field(1, ge=1, description="sweeps per call")

The model is the one declaration of the options: `qaaan.samplers.make` and ``--sampler-option``
are checked against it (unknown keys and wrongly typed values give one line), the settings
tables of the documentation list it, and options typed `SecretStr` (or named in
`qaaan.errors.SECRET_NAMES`), at any depth of the options, are left out of the settings a run
saves and logs (`qaaan.samplers.public_options`) and their values out of error messages.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from qaaan.errors import SECRET_NAMES

Beta = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class SamplerOptions(BaseModel):
    """A sampler's options: strict types (an int passes as a float), no unknown keys."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    @classmethod
    def secret_names(cls) -> frozenset[str]:
        """The options that carry credentials."""
        fields = cls.model_fields.items()
        declared = {name for name, field in fields if _is_secret(field.annotation)}
        return frozenset(declared | SECRET_NAMES)

    def keywords(self) -> dict[str, Any]:
        """The options as plain keyword values (secrets revealed, for the sampler's own use)."""
        return {
            name: value.get_secret_value() if isinstance(value, SecretStr) else value
            for name, value in self
        }


def _is_secret(annotation: Any) -> bool:
    if annotation is SecretStr:
        return True
    return any(_is_secret(arg) for arg in getattr(annotation, "__args__", ()))
