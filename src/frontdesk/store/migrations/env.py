from alembic import context

from frontdesk.store.database import create_store_engine
from frontdesk.store.tables import Base

url = context.config.get_main_option("sqlalchemy.url")
if url is None:
    raise RuntimeError("the Alembic configuration names no sqlalchemy.url")

if context.is_offline_mode():
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = create_store_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
