from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "outbox_message" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "kind" VARCHAR(16) NOT NULL /* TEMPLATE: template\nTEXT: text */,
    "openid" VARCHAR(64) NOT NULL,
    "payload" JSON NOT NULL,
    "status" VARCHAR(16) NOT NULL /* PENDING: pending\nSENT: sent\nFAILED: failed\nUNDELIVERABLE: undeliverable */,
    "attempts" INT NOT NULL,
    "next_attempt_at" TIMESTAMP NOT NULL,
    "claimed_until" TIMESTAMP,
    "client_msg_id" VARCHAR(64) NOT NULL UNIQUE,
    "dedupe_key" VARCHAR(160) UNIQUE,
    "error_code" INT,
    "last_error" TEXT,
    "wechat_msgid" BIGINT,
    "delivery_status" VARCHAR(64),
    "created_at" TIMESTAMP NOT NULL,
    "sent_at" TIMESTAMP
) /* A message to push to one user, written in the transaction that caused it and sent after commit. */;
CREATE INDEX IF NOT EXISTS "idx_outbox_mess_openid_ba562c" ON "outbox_message" ("openid");
CREATE INDEX IF NOT EXISTS "idx_outbox_mess_wechat__f5f667" ON "outbox_message" ("wechat_msgid");
CREATE INDEX IF NOT EXISTS "idx_outbox_mess_status_4d04e0" ON "outbox_message" ("status", "next_attempt_at");
CREATE TABLE IF NOT EXISTS "processed_message" (
    "key" VARCHAR(160) NOT NULL PRIMARY KEY,
    "received_at" TIMESTAMP NOT NULL,
    "reply" TEXT,
    "done" INT NOT NULL
) /* One inbound message or event, kept a day so WeChat's retries get the first reply, not a rerun. */;
CREATE INDEX IF NOT EXISTS "idx_processed_m_receive_9aeb81" ON "processed_message" ("received_at");
CREATE TABLE IF NOT EXISTS "token_cache" (
    "appid" VARCHAR(64) NOT NULL PRIMARY KEY,
    "access_token" TEXT NOT NULL,
    "expires_at" TIMESTAMP,
    "lease_owner" VARCHAR(64),
    "lease_until" TIMESTAMP
) /* The shared access token per AppID, and the lease that lets one process at a time refresh it. */;
CREATE TABLE IF NOT EXISTS "aerich" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "version" VARCHAR(255) NOT NULL,
    "app" VARCHAR(100) NOT NULL,
    "content" JSON NOT NULL
);"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        """


MODELS_STATE = (
    "eJztWm1z2jgQ/isavlxuJtchJCG5foOEttwQyDTuy7TpeIS9gAdbci25CdPrf7+VMNjYxo"
    "kJEMrlE3i1jyw/K+2LpJ8Vj9vgile9UPb5/RUIQYdQeU1+Vhj11J98hUNSob4fNyuBpH1X"
    "I7hWNb2Ebl/IgFoSWwfUFYAiG4QVOL50OFOYBonUieTED8VI/XIGJBQQHJK7wJESGHEYkS"
    "PUCSgT2B+C8ZlKYlHUs4kjCWU2EcDwz0BCQCzueY58pQZhcwtH4bDhlt4XMud7CKbkQ8A+"
    "Anzr128odpgN9yDU49eKkFSGmj0G99Kk+FLPV7+Vb0rXH5sDB1x7wSCOrfS13JQTX8uazr"
    "DN5Butqz61b1rcDT0W6/sTOeJsDnCYVNIhMAioBPUGGYTKMCx03ciSM1tNvyRWmX5CAmPD"
    "gIauMq9CTwcQyyqm2e0Z5k3LMM1KxvQzRMI6kcjiTE0bHKrQBOiJ+dfftdrx8Vmtelw/Pz"
    "05Ozs9r56jrh5vtuns13QwMVvTrjRn7bftrqEGxHFuTqeuEvzSGCrpFKUtFbM/xo/P8n8x"
    "okGLhZ62QBuHTZkFGUvMsClb4EembTFjvsgYM0FsjXhtrW6OitG6uu40jBYaF+eiiwO6ZU"
    "brs6Ge72V6IS0xlUfvTRfYUI7w8aheYIWPjfcX7xrvD47qfy6aohu11HSTMkpsBO4Dy1sG"
    "ygz5iyBGbIr8rS6FBX7rJ4/gt36ylF/VtMivTycupzkE/3PT6+YTnICkGLYdS5J/ieuIjM"
    "t5vmn+aKoLqFVkqJ49Ib67SUoPrhqf02xfdHpNTQ4XchjoXnQHzRT1cURYxcPE6O35mAou"
    "LVtRWNLRXLe6l+3u29ckwt+ym1YX3YyKprfsTaPdaV2q9zku2LfsQ/ey1Wl/bL1vNDvom0"
    "IckOv8wI9RI98JpxQF7xzbLQ3NScjDAXpdBqtuNkDXjk7OTs6P6yfzuDyXFIXjWeiNCU2n"
    "RBleL5EY6XiQT24OPO2ZIvyr2Z/98k9G+6p1YzSurhec1CXGdtVS09JJSnqQnvHzTsintv"
    "GOqEfypddtpX3ZXM/4UlFjoqHkJuN3JrWTnMzEM9GCwS2XohFsM2TSccuaOwNeg7GjmP5i"
    "603Y2kE/b3piaJbL5DLA9US65y1tNpzP2WCHPphjmJRhehG1Es3pBbRDLB/Vq4/KAKoFKU"
    "A1TTQEAQ+QQhtKZAGLoJXygB1zVOvOBFwqpKlpytJqYJjP53URtZb5u8MBAEv04mJk7v87"
    "ve7bmXq6Qlnk/Q6sEdW+tuymUxq5oVm9r/tPSdety5yJWVQYLvPfGeg+LIJNB0srAMXFCh"
    "XHInIPi40KfqDdY+4kmhW/SUIaTeDCfFTtOqxg8gTspd7YtXpDHaEMxoltfCXoU2t8RwPb"
    "zLTwGl+mm23yal5aQhkdaiMpNtU4o6Oz64BbIATYBcdrGZ3DohM2f6Zd7pCtx4A4rM9DZs"
    "+Pv3hA4AdO4kMyBl8SSmw6IYKTT4CBRf4hSAA4SUCQIUh9FjZwAiFR6ruTQ8K4ggQQhCx7"
    "xrb51z18xLb0FK1kLfSUImiXa801VkHLz8wCsAAzkVVCagq6nZi6TXP87j42GUP1Ki1Toc"
    "0B+5CXbrs4sznL2WVocu4CZUsqggiSoruPmE1lo3PJdhlv9nqdBcab7TSlH66aLXRtmn5U"
    "cmSiAtuRzMHgY2AX1Brl5gyJ1sJsQSo905orPpgnGBh3BYZCsAm1VKJBdBfEh4A0fL99ea"
    "ivvajwjHNNwPROjAtS6Cs0UXZCqArWyitjxB6gmxmRvJs4m37ZE3IEpLTc3vQcsHd5wrrK"
    "7OVJwtT4pjZ+mRiSxm3x4LuyJ5EE7n0Hl8wK6dki8qUC3uXsTHtPk98h/2V8Wgq2D5napn"
    "cQp5StdIqdgr6sqF1bUTuSGTYgcKxRXlYYtRRmhDTWeSgZXG7YJyRWeVnV/+X+8hMPRZcn"
    "UD8gEGpIJXx7ArLLd5JXdOy109NHeHbUWuradVvqlh8uqnIVwZ6ye1R91M5htWDnsJq5P4"
    "FvlMBy0tDlF48TkJeLxyUvHj9rMPv1HyAqykg="
)
