"""The admin's accounts page beyond adding one: change a role and agency, disable and re-enable,
set a new password; each audited, each answered with a redirect, and the admin cannot lock
everyone out. The console and its accounts are those of ``test_console_app`` (its own copy)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.unit.test_console_app import PASSWORD, Env, csrf, env, login  # noqa: F401 - fixture by name


def _edit(admin: TestClient, username: str, **fields: str) -> object:
    return admin.post(f"/users/{username}/edit", data={"csrf_token": csrf(admin, "/users"), **fields})


def test_a_role_change_takes_effect_on_the_users_next_request_and_is_audited(env: Env) -> None:  # noqa: F811
    admin, officer = env.client("admin"), env.client("other")
    assert officer.get("/dashboard").status_code == 403
    resp = _edit(admin, "other", role="operator", agency="", active="on")
    assert resp.status_code == 303 and resp.headers["location"] == "/users?done=edit&who=other"
    assert "已保存 other 的修改" in admin.get(resp.headers["location"]).text
    assert officer.get("/dashboard").status_code == 200  # the same session, the new role
    row = env.audit()[-1]
    assert (row.action, row.outcome, row.target, row.username) == ("users.edit", "ok", "other", "admin")
    assert row.detail == "role: agency_officer -> operator; agency: rz-sthjj -> None"


def test_a_disabled_account_is_signed_out_and_cannot_sign_in_until_enabled(env: Env) -> None:  # noqa: F811
    admin, disc = env.client("admin"), env.client("disc")
    assert disc.get("/").status_code == 200
    assert _edit(admin, "disc", role="discipline_officer", agency="rz-jwjw").status_code == 303  # no "active"
    assert disc.get("/").status_code == 303  # back to the sign-in page
    assert "账户状态" in admin.get("/users").text and "已停用" in admin.get("/users").text
    again = env.client()
    login(again, "disc")
    assert again.get("/").status_code == 303
    assert _edit(admin, "disc", role="discipline_officer", agency="rz-jwjw", active="on").status_code == 303
    login(again, "disc")
    assert again.get("/").status_code == 200


def test_a_new_password_replaces_the_old_and_ends_open_sessions(env: Env) -> None:  # noqa: F811
    admin, head = env.client("admin"), env.client("head")
    short = admin.post(
        "/users/head/password", data={"csrf_token": csrf(admin, "/users"), "password": "short"}
    )
    assert short.status_code == 422 and "密码至少需要 10 个字符" in short.text
    assert env.audit()[-1].outcome == "invalid" and head.get("/").status_code == 200
    resp = admin.post(
        "/users/head/password", data={"csrf_token": csrf(admin, "/users"), "password": "a-new-long-one"}
    )
    assert resp.status_code == 303 and env.audit()[-1].action == "users.password"
    assert head.get("/").status_code == 303
    old, new = env.client(), env.client()
    login(old, "head", PASSWORD)
    login(new, "head", "a-new-long-one")
    assert old.get("/").status_code == 303 and new.get("/").status_code == 200


def test_the_admin_cannot_lock_everyone_out(env: Env) -> None:  # noqa: F811
    admin = env.client("admin")
    own = _edit(admin, "admin", role="admin", agency="")  # disabling oneself
    assert own.status_code == 422 and "不能停用自己的账户" in own.text
    demote = _edit(admin, "admin", role="operator", agency="", active="on")
    assert demote.status_code == 422 and admin.get("/users").status_code == 200
    bad = _edit(admin, "officer", role="agency_officer", agency="", active="on")
    assert bad.status_code == 422 and "机关经办人必须绑定一个机关" in bad.text
    assert _edit(admin, "nobody", role="operator", active="on").status_code == 422
    assert [r.outcome for r in env.audit()[-4:]] == ["invalid"] * 4


def test_english_page_says_the_reason_in_english(env: Env) -> None:  # noqa: F811
    admin = env.client("admin")
    admin.post("/lang", data={"lang": "en", "csrf_token": csrf(admin, "/users"), "next": "/users"})
    resp = _edit(admin, "officer", role="agency_officer", agency="", active="on")
    assert resp.status_code == 422 and "an agency officer must be bound to one agency" in resp.text
    admin.post("/lang", data={"lang": "zh", "csrf_token": csrf(admin, "/users"), "next": "/users"})
