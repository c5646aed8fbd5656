from bot.models import TokenCache


async def test_db(database: str) -> None:
    await TokenCache.create(appid="x")
    assert await TokenCache.all().count() == 1
