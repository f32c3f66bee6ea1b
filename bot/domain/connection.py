"""Connection strings for an active private endpoint, one per client."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum

from bot.domain.validation import parse_dns_name, parse_port


class Client(StrEnum):
    MYSQL_CLI = "mysql_cli"
    JDBC = "jdbc"
    PYTHON = "python"
    GO = "go"
    NODEJS = "nodejs"

    @property
    def label(self) -> str:
        """The client's name as a person reads it."""
        return _LABELS[self]


_LABELS = {
    Client.MYSQL_CLI: "MySQL CLI",
    Client.JDBC: "JDBC",
    Client.PYTHON: "Python",
    Client.GO: "Go",
    Client.NODEJS: "Node.js",
}

DEFAULT_USER = "root"
DEFAULT_DATABASE = "test"
PASSWORD_VARIABLE = "DB_PASSWORD"


@dataclass(frozen=True, slots=True)
class ConnectionString:
    client: Client
    text: str


def connection_string(
    client: Client,
    *,
    host: str,
    port: int,
    user: str = DEFAULT_USER,
    database: str = DEFAULT_DATABASE,
) -> ConnectionString:
    """How `client` connects to `host:port`; the password is read from $DB_PASSWORD."""
    host = parse_dns_name(host)
    port = parse_port(port)
    quoted_host, quoted_user, quoted_db = json.dumps(host), json.dumps(user), json.dumps(database)
    texts = {
        Client.MYSQL_CLI: (
            f"mysql --connect-timeout 15 -h {host} -P {port} -u {user} -D {database} -p"
        ),
        Client.JDBC: f"jdbc:mysql://{host}:{port}/{database}?user={user}&password=${{{PASSWORD_VARIABLE}}}",
        Client.PYTHON: (
            "import os, mysql.connector\n"
            f"conn = mysql.connector.connect(host={quoted_host}, port={port}, user={quoted_user},"
            f' password=os.environ["{PASSWORD_VARIABLE}"], database={quoted_db})'
        ),
        Client.GO: (
            f'dsn := fmt.Sprintf("{user}:%s@tcp({host}:{port})/{database}",'
            f' os.Getenv("{PASSWORD_VARIABLE}"))\n'
            'db, err := sql.Open("mysql", dsn)'
        ),
        Client.NODEJS: (
            "const conn = await mysql.createConnection({"
            f" host: {quoted_host}, port: {port}, user: {quoted_user},"
            f" password: process.env.{PASSWORD_VARIABLE}, database: {quoted_db} }});"
        ),
    }
    return ConnectionString(client=client, text=texts[client])


def connection_strings(*, host: str, port: int) -> list[ConnectionString]:
    """Every client's connection string, in a stable order."""
    return [connection_string(client, host=host, port=port) for client in Client]
