from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "paged_reply" (
    "openid" VARCHAR(64) NOT NULL PRIMARY KEY,
    "pages" JSON NOT NULL,
    "total" INT NOT NULL,
    "updated_at" TIMESTAMP NOT NULL
) /* The pages of a long reply a user has not read yet ("回复 下一页"). */;"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TABLE IF EXISTS "paged_reply";"""


MODELS_STATE = (
    "eJztW21z2jgQ/isaf7l0JpchhJC03yChLTcEMon7Mi0dj7AFeDCSa8lJmF7/+62Ewa84mA"
    "ChHF8AS/vY8rPS7mpX/NLGzCIOP+n4oseebgjneEC0d+iXRvFY/sgWOEYadt2wWzYI3HMU"
    "gilRYxyR7XHhYVNAbx87nECTRbjp2a6wGZWYGgrEkWDI9flQfjNKkM+Jd4wePVsIQpFNkR"
    "iCjIcph/sBGK6xQCYGOQvZAmFqIU4o/OgL4iGTjce2OJGDsJgJo7DpYEvP86n90yeGYAMC"
    "9/Dgqd9/QLNNLfJEuLz8rnGBha/Yo+RJGBgeOnblt/ZDyrojo28Tx4opxLakvGo3xMRVbX"
    "V70KTivZKVr9ozTOb4YxrKuxMxZHQOsKmQrQNCiYcFkU8Qni8VQ33HCTQ509X0TUKR6StE"
    "MBbpY9+R6pXo6QDCNs0w2h3duG/ohqGlVD9DRLQTNJmMymkDQ+WKADUx/35bLp+dXZRLZ9"
    "XL88rFxfll6RJk1XjTXRe/p4MJ2ZreSnHW/NBs63JADObmdOrKht8KgwWeopSmQvZH8PJp"
    "/q+G2GtQf6w00IRhY2qSlCZm2IQu4CWTupgxn6eMWUOojXBtra4OTW/c3LZqegOUC3PRgQ"
    "F1qd74qsvrJ5FcSAtUNcZPhkPoQAzh8rSao4XPtburj7W7o9Pqm7gq2kFPWXVJpYRKYC6h"
    "WctAqiF7EYSITZG/1aUQ47daWYLfamUhv7Irzq+LJw7DGQT/c99pZxMcgSQYtmxToH+RY/"
    "OUyXm9ab401TnUSjLkncec/3SilB7d1L4m2b5qdeqKHMbFwFN3UTeoJ6gPPcIqFiZEb8/G"
    "aLC0LElhQUNz22hfN9sf3qEA36X3jTaYGelNu/R9rdlqXMvn2Q6xuvRT+7rRan5u3NXqLb"
    "BNPgzIsR/gZeTId8IoBc47Q3cLXXMU8ryDXpfCSpt10OXTykXl8qxamfvleUueO5653pDQ"
    "ZEiU4vUaiBH2mGSTmwFPWqYAfzL7sV/2SW/eNO712s1tzEhdg2+XPWXVOkm0HiVn/Pwm6E"
    "tT/4jkJfrWaTeStmwup3/T5JiwL5hB2aOBrSgns+ZZU0zhpoNBCZbhU2E7RdWdAq9B2YFP"
    "P+h6E7q2wc4bYz4wikVyKeB6PN3rbm02HM9ZxPJdYozIpAjTcdRKNCcX0A6xfFotLRUBlH"
    "JCgFKSaOJ5zAMKLVIgCoiDVooDdsxQrTsScDAXhqIpTasObj6b1zhqLfN3hx0AbNHzNyNz"
    "+9/qtD/MxJM7lDjvj8QcYmVriyadksgNzep9zT9FTbfa5kyMvI3hIvudgu7DIti0szQ9Ir"
    "lYYccRR+7hZkODF7Q61JkEs+IPCUiDCZwbj8qswwoqj8AO+41d22/IEkp/FEnjy4YeNkeP"
    "2LOMVA8rs0Wy6a5xeZxswRQPlJIkm3KcQensVjbfEVctm1RhLdJ7nFdVc6Wc4c0Fny2p6U"
    "OCJIgj1kcYOYwOkILDhaxyoSHmiDKB5KJGEyLQUVfr+udVi8Dn25KFun6FlHrqs9T1315e"
    "nHe1N+la2iYf9HwRbWGd7PWLBDu021mXm1xcGFMzoFjFIAAc6gUvqBcIJnBGrmxhYD6X31"
    "6++Q/aaPqutWLsF0fuYex3CAbWEwx4zCScEyvnrE1KJj8wmEkXO3HToQTZtMd8as3PwjAP"
    "kQeIaI/RiLgC3LeFJ4gz9IWA0xR/cfDgMEnA0YM3Vgdj+rbHxdTZHysXj+HC82k6SNj841"
    "4QKhRMjL4kI7rLQcIaU6KL4wSPmMR+WMnGJqDbMbLbVMefbmOjrnS+U1k2XTsH7EOSatuZ"
    "WovRjJJDnTGHYLogPRhAEnT3ALOp8GTesl3G651OK8Z4vZmk9NNNvQGmTdEPQraIpGN3JH"
    "LQ2YjQK2wOM2OGSG9utCCknGHOBZdKI3BwhcRC2JSBBlK3QC5s7Guu27w+VmdgpXuGucbJ"
    "9ICsQwRX52mD6ARh6aylVQaP3QczM0RZx3I3/bAXxAhAabFswhywd3HC5pMJU+UbSvlFfE"
    "gSt8VTcNqeeBLy5NqwZFYIz+LIQzp8l6MzZT0N9gj8F7FpCdg+RGqbLidOKVvpSFsCelhR"
    "u7aidiQyrBHPNodZUWHQkxsR4lDmuWBwsWJfEFhlRVX/lz8zvTBxvTiAeiAel0MqYNsjkF"
    "3+g9KKhr18fr6EZQephaZd9SWO/MOiKrYj2FN2T0tLZQ5LOZnDUuowJTxREJoRhi6uKUYg"
    "h6piwariqzqz3/8BSVRZtg=="
)
