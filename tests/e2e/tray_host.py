"""The desktop's side of the system tray, played on a test's own session bus: no panel can run on
the test machine, so this is a stand-in at the protocol boundary (StatusNotifierItem over D-Bus,
as KDE, GNOME's AppIndicator extension and others speak it). It owns
`org.kde.StatusNotifierWatcher` with a host registered, records the items that register, and
reads and clicks their menus (`com.canonical.dbusmenu`) as a panel would. The app's tray code,
libayatana-appindicator and libdbusmenu on the other side are the real ones."""

from __future__ import annotations

import threading
from typing import Any

from jeepney import DBusAddress, MessageType, new_error, new_method_call, new_method_return
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import open_dbus_connection
from jeepney.low_level import HeaderFields

WATCHER = "org.kde.StatusNotifierWatcher"
INTROSPECTION = f"""<node><interface name="{WATCHER}">
<method name="RegisterStatusNotifierItem"><arg type="s" direction="in"/></method>
<method name="RegisterStatusNotifierHost"><arg type="s" direction="in"/></method>
<property name="RegisteredStatusNotifierItems" type="as" access="read"/>
<property name="IsStatusNotifierHostRegistered" type="b" access="read"/>
<property name="ProtocolVersion" type="i" access="read"/>
<signal name="StatusNotifierItemRegistered"><arg type="s"/></signal>
<signal name="StatusNotifierItemUnregistered"><arg type="s"/></signal>
<signal name="StatusNotifierHostRegistered"/>
</interface></node>"""


class TrayHost:
    def __init__(self, address: str) -> None:
        self._serve = open_dbus_connection(address)
        reply = self._serve.send_and_get_reply(message_bus.RequestName(WATCHER, 4))
        assert reply.body == (1,), f"could not own {WATCHER}: {reply.body}"
        self._client = open_dbus_connection(address)
        self._lock = threading.Lock()
        self._items: list[tuple[str, str]] = []  # (bus name, object path)
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop = True
        self._thread.join()
        self._serve.close()
        self._client.close()

    @property
    def items(self) -> list[tuple[str, str]]:
        with self._lock:
            return list(self._items)

    # ----- the watcher -----

    def _properties(self) -> dict[str, tuple[str, Any]]:
        names = [f"{bus}{path}" for bus, path in self.items]
        return {
            "RegisteredStatusNotifierItems": ("as", names),
            "IsStatusNotifierHostRegistered": ("b", True),
            "ProtocolVersion": ("i", 0),
        }

    def _run(self) -> None:
        while not self._stop:
            try:
                msg = self._serve.receive(timeout=0.1)
            except TimeoutError:
                continue
            if msg.header.message_type != MessageType.method_call:
                continue
            fields = msg.header.fields
            member = fields.get(HeaderFields.member)
            sender = fields.get(HeaderFields.sender, "")
            if member == "RegisterStatusNotifierItem":
                (service,) = msg.body
                item = (
                    (sender, service)
                    if service.startswith("/")
                    else (service, "/StatusNotifierItem")
                )
                with self._lock:
                    self._items.append(item)
                self._serve.send(new_method_return(msg))
            elif member == "RegisterStatusNotifierHost":
                self._serve.send(new_method_return(msg))
            elif member == "Get":
                _, name = msg.body
                props = self._properties()
                if name in props:
                    self._serve.send(new_method_return(msg, "v", (props[name],)))
                else:
                    self._serve.send(
                        new_error(msg, "org.freedesktop.DBus.Error.UnknownProperty", "s", (name,))
                    )
            elif member == "GetAll":
                self._serve.send(new_method_return(msg, "a{sv}", (self._properties(),)))
            elif member == "Introspect":
                self._serve.send(new_method_return(msg, "s", (INTROSPECTION,)))
            else:
                self._serve.send(
                    new_error(msg, "org.freedesktop.DBus.Error.UnknownMethod", "s", (str(member),))
                )

    # ----- what a panel does with an item -----

    def _call(self, where: tuple[str, str, str], method: str, sig: str, body: tuple) -> Any:
        """Calls `method` on (bus name, object path, interface)."""
        bus, path, interface = where
        addr = DBusAddress(path, bus_name=bus, interface=interface)
        reply = self._client.send_and_get_reply(
            new_method_call(addr, method, sig, body), timeout=10
        )
        assert reply.header.message_type == MessageType.method_return, reply.body
        return reply.body

    def _menu_path(self, item: tuple[str, str]) -> str:
        bus, path = item
        ((_, menu),) = self._call(
            (bus, path, "org.freedesktop.DBus.Properties"),
            "Get",
            "ss",
            ("org.kde.StatusNotifierItem", "Menu"),
        )
        return str(menu)

    def menu(self, item: tuple[str, str]) -> dict[str, tuple[int, bool]]:
        """The item's menu entries: label -> (id, enabled), separators left out."""
        _, layout = self._call(
            (item[0], self._menu_path(item), "com.canonical.dbusmenu"),
            "GetLayout",
            "iias",
            (0, -1, []),
        )
        out: dict[str, tuple[int, bool]] = {}

        def walk(node: tuple) -> None:
            entry_id, props, children = node
            label = props.get("label", ("s", ""))[1]
            if label:
                out[label.replace("_", "")] = (entry_id, props.get("enabled", ("b", True))[1])
            for _, child in children:
                walk(child)

        walk(layout)
        return out

    def click(self, item: tuple[str, str], label: str) -> None:
        entries = self.menu(item)
        assert label in entries, f"no `{label}` in the tray menu: {sorted(entries)}"
        self._call(
            (item[0], self._menu_path(item), "com.canonical.dbusmenu"),
            "Event",
            "isvu",
            (entries[label][0], "clicked", ("i", 0), 0),
        )
