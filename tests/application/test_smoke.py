"""The core loop on every store: declare a crisis, change it, read it back."""

from domain.access import Actor, Role

DO = Actor("DO-1", Role.DUTY_OFFICER)


def test_declared_crisis_is_read_back_on_every_store(services, clock):
    app = services.coordination
    app.declare_crisis(DO, crisis_id="C-1", title="Storm", category="SEVERE_WEATHER", severity=2)
    clock.advance(minutes=5)
    version = app.change_severity(DO, "C-1", to_severity=3, reason="worse")
    crisis = app.get_crisis(DO, "C-1")
    assert (crisis.severity, crisis.version, version) == (3, 2, 2)
