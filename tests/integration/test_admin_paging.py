"""The admin adapter reads Keycloak's paged listings to their end (`_pages`), with pages made
small so that a few objects span several."""

from __future__ import annotations

import time
import uuid

import pytest

from bridge import keycloak_admin
from bridge.bootstrap import bridge_directory
from tests.support.stack import Platform

pytestmark = pytest.mark.keycloak


def test_members_groups_and_admin_events_are_read_past_the_first_page(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(keycloak_admin, "PAGE", 2)
    admin = platform.admin()
    since = int(time.time() * 1000) - 1000
    people = [platform.new_person("Page", f"Membre {n}") for n in range(5)]
    groups = [
        str(admin.create_group({"name": f"pagination-{uuid.uuid4().hex[:8]}"})) for _ in range(3)
    ]
    for group in groups:
        admin.group_user_add(people[0].id, group)
    for person in people[1:]:
        admin.group_user_add(person.id, groups[0])
    directory = bridge_directory(platform.portal_settings)
    try:
        assert set(directory.members(groups[0])) == {p.id for p in people}
        assert set(groups) <= directory.group_ids_of(people[0].id)
        created = {
            e.get("resourcePath", "").removeprefix("users/")
            for e in directory.admin_events_since(since)
            if e.get("operationType") == "CREATE" and e.get("resourceType") == "USER"
        }
        assert {p.id for p in people} <= created
    finally:
        for group in groups:
            admin.delete_group(group)
