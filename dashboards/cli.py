"""``adwatch serve`` (the review console) and ``adwatch users …`` (its accounts)."""

from __future__ import annotations

import sys

import click
from rich.console import Console
from rich.table import Table

from crawler.config import project_settings
from dashboards.accounts import ROLES, Accounts
from dashboards.config import ConsoleConfig
from dashboards.db import ConsoleDB

out = Console()


def _config() -> ConsoleConfig:
    return ConsoleConfig.from_settings(project_settings())


def _accounts() -> Accounts:
    return Accounts(ConsoleDB(_config().db_path))


def _password(read_stdin: bool) -> str:
    if read_stdin:
        return sys.stdin.readline().rstrip("\r\n")  # a file written on Windows ends its lines with CRLF
    return click.prompt("密码 password", hide_input=True, confirmation_prompt="再输一次 repeat")


@click.command()
@click.option("--host", default=None, help="监听地址 address to listen on [ADWATCH_CONSOLE_HOST]")
@click.option("--port", type=int, default=None, help="端口 port [ADWATCH_CONSOLE_PORT]")
def serve(host: str | None, port: int | None) -> None:
    """启动审核台（网页）。Start the review console (web app) for reviewers, chiefs and the inspection corps."""
    import uvicorn

    from dashboards.app import create_app

    config = _config()
    if not Accounts(ConsoleDB(config.db_path)).list():
        out.print("[yellow]尚无账号，请先运行 adwatch users add … no accounts yet: add one with `adwatch users add`[/]")
    host, port = host or config.host, port or config.port
    out.print(f"审核台 console: http://{host}:{port}/  (Ctrl-C 停止 to stop)")
    uvicorn.run(create_app(config), host=host, port=port, log_level="info", proxy_headers=False)


@click.group()
def users() -> None:
    """审核台账号管理。Accounts of the review console."""


@users.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(list(ROLES)), required=True,
              help="角色 role: reviewer 审核员 · chief 科长/处长 · inspector 稽查 · admin 管理员")
@click.option("--name", "display_name", default="", help="姓名 display name")
@click.option("--password-stdin", is_flag=True, help="从标准输入读取密码 read the password from stdin")
def users_add(username: str, role: str, display_name: str, password_stdin: bool) -> None:
    """新增账号。Add an account."""
    user = _accounts().add(username, _password(password_stdin), role, display_name)
    out.print(f"已新增 added {user.username}（{user.role_label}）")


@users.command("list")
def users_list() -> None:
    """列出账号。List accounts."""
    table = Table("用户名 user", "姓名 name", "角色 role", "状态 state")
    for user in _accounts().list():
        state = "在用 active" if user.active else "停用 disabled"
        table.add_row(user.username, user.display_name, user.role_label, state)
    out.print(table)


@users.command("disable")
@click.argument("username")
def users_disable(username: str) -> None:
    """停用账号（并结束其会话）。Disable an account and end its sessions."""
    _accounts().set_active(username, False)
    out.print(f"已停用 disabled {username}")


@users.command("enable")
@click.argument("username")
def users_enable(username: str) -> None:
    """重新启用账号。Enable an account again."""
    _accounts().set_active(username, True)
    out.print(f"已启用 enabled {username}")


@users.command("reset-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="从标准输入读取密码 read the password from stdin")
def users_reset_password(username: str, password_stdin: bool) -> None:
    """重置密码（并结束其会话）。Set a new password and end the account's sessions."""
    _accounts().reset_password(username, _password(password_stdin))
    out.print(f"已重置 password reset for {username}")
