"""The suite's own guard: a transaction left open by one test cannot turn the tests after it into errors."""

import pytest
import sqlalchemy as sa

from ptce_aap.models.accounts import User
from tests.conftest import LeftOpenError, _truncate_all


def test_a_transaction_left_open_is_ended_and_the_tables_emptied_all_the_same(app, db, make_user):
    make_user(email="reste@exemple.fr")
    db.session.commit()
    leaked = db.engine.connect()  # a connection of the pool, as a live-server request or a job would hold
    leaked.begin()
    leaked.execute(sa.text("SELECT count(*) FROM users"))  # holds a lock TRUNCATE waits for

    with pytest.raises(LeftOpenError, match="SELECT count"):
        _truncate_all(app, lock_timeout="500ms")

    with pytest.raises(sa.exc.OperationalError):  # that connection was ended
        leaked.execute(sa.text("SELECT 1"))
    leaked.invalidate()
    db.session.remove()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0
