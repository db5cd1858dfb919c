"""The API's refusals are French from end to end (#20, « Field required » inside a French
problem): a client shows a person the messages it gets."""

from __future__ import annotations

from tests.support.callers import MAF, Caller, new_caller
from tests.support.stack import Platform


def test_validation_errors_are_explained_in_french(
    platform: Platform, callers: list[Caller]
) -> None:
    caller = new_caller(platform, callers)
    missing = caller.post(f"/demarches/{MAF}/activation", json={})
    assert missing.status_code == 422
    body = missing.json()
    assert body["detail"] == "Certaines données envoyées sont invalides."
    messages = {e["champ"]: e["message"] for e in body["erreurs"]}
    assert messages == {"body.siret": "Champ obligatoire.", "body.code": "Champ obligatoire."}
    too_big = caller.http.get(f"/demarches/{MAF}/utilisateurs", params={"page": 10_000_000})
    assert too_big.status_code == 422
    [error] = too_big.json()["erreurs"]
    assert error["message"].startswith("Nombre trop grand (au plus ")
    assert not any(
        word in str(e) for e in (body, too_big.json()) for word in ("Field", "Input should")
    )
